"""``wiredesk run push``: the push endpoint under uvicorn until SIGTERM/SIGINT (exit 0)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys

import uvicorn
from redis.asyncio import Redis

from services.api.server import _Server
from services.push.app import create_app
from services.push.settings import PushSettings
from wiredesk.observability import configure_logging
from wiredesk.topology import UnsupportedLayoutError, require_single_stream_layout


def serve(settings: PushSettings | None = None) -> None:
    settings = settings or PushSettings()
    configure_logging(level=settings.log_level, fmt=settings.log_format, service="push")
    if not settings.push_keys:
        logging.getLogger(__name__).warning(
            "WIREDESK_PUSH_KEYS is empty: every request will be refused with 401"
        )
    try:
        require_single_stream_layout(settings, "the push endpoint")
    except UnsupportedLayoutError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc
    redis = Redis.from_url(settings.redis_url)
    config = uvicorn.Config(
        create_app(settings, redis),
        host=settings.push_host,
        port=settings.push_port,
        log_config=None,
        access_log=False,
    )
    try:
        _Server(config).run()
    finally:
        with contextlib.suppress(Exception):  # its connections belonged to uvicorn's loop
            asyncio.run(redis.aclose())

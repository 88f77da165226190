"""``wiredesk run push``: the push endpoint under uvicorn until SIGTERM/SIGINT (exit 0)."""

from __future__ import annotations

import logging

import uvicorn

from services.api.server import _Server
from services.push.app import create_app
from services.push.settings import PushSettings
from wiredesk.observability import configure_logging


def serve(settings: PushSettings | None = None) -> None:
    settings = settings or PushSettings()
    configure_logging(level=settings.log_level, fmt=settings.log_format, service="push")
    if not settings.push_keys:
        logging.getLogger(__name__).warning(
            "WIREDESK_PUSH_KEYS is empty: every request will be refused with 401"
        )
    config = uvicorn.Config(
        create_app(settings),  # connects to the deployment inside uvicorn's loop (lifespan)
        host=settings.push_host,
        port=settings.push_port,
        log_config=None,
        access_log=False,
    )
    _Server(config).run()

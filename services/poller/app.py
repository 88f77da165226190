"""The poller as a process: settings, feed list, Redis, signals; exits 0 on SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from redis.asyncio import Redis

from services.poller.feeds import FeedListError, load_feeds
from services.poller.poller import Poller
from services.poller.settings import PollerSettings
from wiredesk.observability import configure_logging, serve_health
from wiredesk.topology import UnsupportedLayoutError, require_single_stream_layout

log = logging.getLogger(__name__)


async def _main(settings: PollerSettings) -> int:
    try:
        feeds = load_feeds(settings.poller_feeds, settings.poller_feeds_file)
    except (FeedListError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not feeds:
        print(
            "error: no feeds configured: set WIREDESK_POLLER_FEEDS (URLs) or "
            "WIREDESK_POLLER_FEEDS_FILE (one 'URL [SOURCE]' per line)",
            file=sys.stderr,
        )
        return 2
    try:
        require_single_stream_layout(settings, "the poller")
    except UnsupportedLayoutError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    redis = Redis.from_url(settings.redis_url)
    poller = Poller(settings, redis, feeds)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    health = None
    if settings.metrics_port is not None:

        async def ready() -> bool:
            try:
                return bool(await redis.ping())
            except Exception:
                return False

        health = await serve_health(settings.metrics_port, ready)
    log.info("poller started", extra={"feeds": len(feeds), "redis": settings.safe_redis_url})
    try:
        await poller.run(stop)
    finally:
        if health is not None:
            health.close()
        await poller.aclose()
        await redis.aclose()
        log.info("poller stopped")
    return 0


def main() -> int:
    settings = PollerSettings()
    configure_logging(level=settings.log_level, fmt=settings.log_format, service="poller")
    return asyncio.run(_main(settings))

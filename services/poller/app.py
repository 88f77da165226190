"""The poller as a process: settings, feed list, Redis, signals; exits 0 on SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from redis.exceptions import RedisError

from services.poller.feeds import FeedListError, load_feeds
from services.poller.poller import Poller
from services.poller.settings import PollerSettings
from wiredesk.observability import configure_logging, serve_health
from wiredesk.topology import Topology

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
    try:  # cluster mode, partitions and WAIT, as every producer sees them
        topology = await Topology.connect(settings)
    except RedisError as exc:
        print(f"error: cannot reach Redis at {settings.safe_redis_url}: {exc}", file=sys.stderr)
        return 1
    redis = topology.client
    poller = Poller(settings, redis, feeds, topology=topology)  # type: ignore[arg-type]
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
        await topology.aclose()
        log.info("poller stopped")
    return 0


def main() -> int:
    settings = PollerSettings()
    configure_logging(level=settings.log_level, fmt=settings.log_format, service="poller")
    return asyncio.run(_main(settings))

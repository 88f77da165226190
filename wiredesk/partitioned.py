"""One service process over several partitions, on one Redis node or a Redis Cluster.

:func:`wiredesk.service.build_app` runs one stage on one stream; this runs one
:class:`~wiredesk.service.StageRunner` per partition the replica consumes
(``WIREDESK_CONSUME_PARTITIONS``, default all), each with its own FastStream subscriber, all
sharing one Redis client. On a cluster the broker is FastStream's ``RedisClusterBroker`` (0.7.8+:
streams, groups and manual acks as on one node); every reader reads one stream, so every
``XREADGROUP`` stays in one slot.

The services choose: the legacy layout (one node, ``WIREDESK_PARTITIONS=1``) keeps
``build_app`` exactly as before; anything else comes here (:func:`create_stage_app`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from faststream import FastStream
from faststream.redis import RedisBroker, RedisClusterBroker

from wiredesk.cluster import async_client, attach_default_wait, use_cluster
from wiredesk.keys import Keys
from wiredesk.observability import configure_logging
from wiredesk.partitions import parse_subset
from wiredesk.service import Stage, StageRunner, build_app, subscribe
from wiredesk.settings import WiredeskSettings

log = logging.getLogger(__name__)


def create_stage_app(
    settings: WiredeskSettings,
    single: Callable[[], Stage],
    per_partition: Callable[[Keys, list[int]], Sequence[Stage]],
) -> FastStream:
    """The service's app: ``single()`` on the legacy layout, else one stage per partition."""
    cluster = use_cluster(settings)
    keys = Keys.from_settings(settings, cluster=cluster)
    if not keys.tagged:
        return build_app(single(), settings)
    parts = parse_subset(settings.consume_partitions, keys.partitions)
    return build_partitioned_app(per_partition(keys, parts), settings, cluster=cluster)


def build_partitioned_app(
    stages: Sequence[Stage], settings: WiredeskSettings, *, cluster: bool
) -> FastStream:
    """A FastStream app whose subscribers feed one runner per stage (partition)."""
    if not stages:
        raise ValueError("no partitions to consume")
    name = stages[0].name
    configure_logging(level=settings.log_level, fmt=settings.log_format, service=name)
    broker_cls: Any = RedisClusterBroker if cluster else RedisBroker
    broker = broker_cls(
        settings.redis_url,
        graceful_timeout=settings.graceful_timeout_s,
        log_level=logging.DEBUG,  # per-message INFO logs cost more than the work itself
    )
    client = async_client(settings, cluster=cluster)
    quiet = settings.model_copy(update={"metrics_port": None})
    runners = [
        StageRunner(stage, settings if i == 0 else quiet, redis=client)
        for i, stage in enumerate(stages)
    ]
    for runner in runners:
        subscribe(broker, runner, settings)

    async def start() -> None:
        await attach_default_wait(client, settings)
        for runner in runners:
            await runner.start()
        log.info(
            "partitions started",
            extra={
                "stage": name,
                "streams": [r.stage.input_stream for r in runners],
                "cluster": cluster,
            },
        )

    async def stop() -> None:
        for runner in runners:
            await runner.stop()
        await client.aclose()

    app = FastStream(broker, logger=logging.getLogger(f"wiredesk.{name}"))
    app.on_startup(start)
    app.after_shutdown(stop)
    return app

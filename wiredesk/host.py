"""Hosts a service's stages in one FastStream application: broker, Redis client, lifecycle.

A service's ``app.py`` tells its own story: it builds a :class:`StageHost`, makes its stages
(one, or one per partition it consumes), and declares its FastStream subscriber for each, which
hands the batch to the stage's :class:`~wiredesk.service.StageRunner`::

    host = StageHost(settings, service="ingest")
    for stage in stages_for(host):
        runner = host.runner(stage)

        @host.broker.subscriber(**host.subscription(stage))
        async def on_batch(message: RedisBatchStreamMessage = Context("message")) -> None:
            await runner.process(batch_entries(message))

    return host.app()

What is the same for every service lives here once: the broker (FastStream's ``RedisBroker`` on
one node, ``RedisClusterBroker`` on a cluster: streams, groups and manual acks as on one node;
every reader reads one stream, so every ``XREADGROUP`` stays in one slot), **one** Redis client
shared by the stages' runners, ``WIREDESK_WAIT_REPLICAS`` attached to it before any runner
starts, one health/metrics endpoint per process, and start/stop in order.

The subscription (:meth:`StageHost.subscription`) is a batch ``StreamSub`` with **manual** acks
(the stage acks in its own atomic commit) and entries left undecoded (``raw_batch_parser``: the
stage decodes each one, so an undecodable entry is dead-lettered alone instead of failing the
batch).
"""

from __future__ import annotations

import logging
from typing import Any

from faststream import AckPolicy, FastStream
from faststream.redis import RedisBroker, RedisClusterBroker, StreamSub
from faststream.redis.message import RedisBatchStreamMessage

from wiredesk.batchparse import raw_batch_parser
from wiredesk.cluster import async_client, attach_default_wait, use_cluster
from wiredesk.keys import Keys
from wiredesk.observability import configure_logging
from wiredesk.partitions import parse_subset
from wiredesk.service import Stage, StageRunner
from wiredesk.settings import WiredeskSettings
from wiredesk.streaming import Entry

log = logging.getLogger(__name__)


def batch_entries(message: RedisBatchStreamMessage) -> list[Entry]:
    """The entries of one delivered batch, as the stage reads them (ids and raw fields)."""
    raw = message.raw_message
    return [
        Entry(mid.decode(), fields)
        for mid, fields in zip(raw["message_ids"], raw["data"], strict=True)
    ]


class StageHost:
    """One service process: the broker, the shared client, a runner per stage, the app."""

    def __init__(self, settings: WiredeskSettings, *, service: str) -> None:
        configure_logging(level=settings.log_level, fmt=settings.log_format, service=service)
        self.settings = settings
        self.service = service
        self.cluster = use_cluster(settings)
        #: the layout: legacy names on one node with one partition, hash-tagged names otherwise
        self.keys = Keys.from_settings(settings, cluster=self.cluster)
        broker_cls: Any = RedisClusterBroker if self.cluster else RedisBroker
        self.broker: Any = broker_cls(
            settings.redis_url,
            graceful_timeout=settings.graceful_timeout_s,
            log_level=logging.DEBUG,  # per-message INFO logs cost more than the work itself
        )
        self.redis: Any = async_client(settings, cluster=self.cluster)
        self.runners: list[StageRunner] = []

    @property
    def partitioned(self) -> bool:
        """Whether the stages run one per partition (any layout but the legacy one)."""
        return self.keys.tagged

    @property
    def partitions(self) -> list[int]:
        """The partitions this replica consumes (``WIREDESK_CONSUME_PARTITIONS``, default all)."""
        return parse_subset(self.settings.consume_partitions, self.keys.partitions)

    def runner(self, stage: Stage) -> StageRunner:
        """The runner that feeds ``stage``; only the first one serves health and metrics."""
        quiet = self.settings.model_copy(update={"metrics_port": None})
        runner = StageRunner(stage, quiet if self.runners else self.settings, redis=self.redis)
        self.runners.append(runner)
        return runner

    def subscription(self, stage: Stage) -> dict[str, Any]:
        """The ``broker.subscriber(...)`` arguments of a stage's batch reader (module docstring)."""
        return {
            "stream": StreamSub(
                stage.input_stream,
                group=stage.group,
                consumer=self.settings.consumer,
                batch=True,
                max_records=self.settings.batch_size,
                polling_interval=self.settings.block_ms,
            ),
            "ack_policy": AckPolicy.MANUAL,
            "parser": raw_batch_parser,
            "title": f"{stage.name}:{stage.input_stream}",
        }

    async def start(self) -> None:
        if not self.runners:
            raise ValueError(f"{self.service}: no stage to run (no partitions to consume?)")
        await attach_default_wait(self.redis, self.settings)
        for runner in self.runners:
            await runner.start()
        if self.partitioned:
            log.info(
                "partitions started",
                extra={
                    "stage": self.service,
                    "streams": [r.stage.input_stream for r in self.runners],
                    "cluster": self.cluster,
                },
            )

    async def stop(self) -> None:
        for runner in self.runners:
            await runner.stop()
        await self.redis.aclose()

    def app(self) -> FastStream:
        """The FastStream application; run it with ``asyncio.run(app.run())``."""
        app = FastStream(self.broker, logger=logging.getLogger(f"wiredesk.{self.service}"))
        app.on_startup(self.start)
        app.after_shutdown(self.stop)
        return app

"""wiredesk.host.StageHost, as a service's app.py uses it, on the suite's real Redis.

The services reach the host through their apps (the e2e tests); here two tiny stages on two
streams run in one host, each with the subscriber a service declares, and the host's promises
are checked directly: every stage's entries arrive through FastStream and are committed, the
runners share the host's one client, only the first runner serves metrics, and a host with no
stage refuses to start instead of idling.
"""

from __future__ import annotations

import asyncio

import pytest
from faststream import Context
from faststream.redis.message import RedisBatchStreamMessage
from redis.asyncio import Redis

from wiredesk.host import StageHost, batch_entries
from wiredesk.service import StageRunner
from wiredesk.settings import WiredeskSettings
from wiredesk.streaming import Entry

pytestmark = pytest.mark.integration


class Acker:
    """Acks every entry it is handed and remembers its ``n`` field."""

    def __init__(self, name: str, input_stream: str) -> None:
        self.name, self.input_stream, self.group = name, input_stream, "g"
        self.got: list[bytes] = []
        self.redis: Redis | None = None

    async def setup(self, redis: Redis) -> None:
        self.redis = redis

    async def handle(self, entries: list[Entry]) -> None:
        assert self.redis is not None
        self.got.extend(entry.fields[b"n"] for entry in entries)
        await self.redis.xack(self.input_stream, self.group, *(entry.id for entry in entries))

    async def close(self) -> None:
        pass


def subscribe(host: StageHost, runner: StageRunner) -> None:
    """What each service's app.py declares."""

    @host.broker.subscriber(**host.subscription(runner.stage))  # type: ignore[untyped-decorator]
    async def on_batch(message: RedisBatchStreamMessage = Context("message")) -> None:
        await runner.process(batch_entries(message))


async def test_host_runs_each_stage_through_its_subscriber(
    settings: WiredeskSettings, namespace: str
) -> None:
    hosted = settings.model_copy(update={"metrics_port": 0, "block_ms": 20})
    stages = [Acker("one", f"{namespace}:in:1"), Acker("two", f"{namespace}:in:2")]
    host = StageHost(hosted, service="hosttest")
    runners = [host.runner(stage) for stage in stages]
    for runner in runners:
        subscribe(host, runner)
    assert all(r.redis is host.redis for r in runners), "one client per process"
    assert runners[0].settings.metrics_port == 0 and runners[1].settings.metrics_port is None

    app = host.app()
    await app.start()
    try:
        producer = Redis.from_url(settings.redis_url)
        for i in range(5):
            for stage in stages:
                await producer.xadd(stage.input_stream, {"n": str(i)})
        for _ in range(200):  # up to 10 s
            if all(len(s.got) >= 5 for s in stages):
                break
            await asyncio.sleep(0.05)
        for stage in stages:
            assert stage.got == [str(i).encode() for i in range(5)]
            groups = await producer.xinfo_groups(stage.input_stream)
            assert groups[0]["pending"] == 0, "the stage's acks went through the host's client"
        await producer.aclose()
    finally:
        await app.stop()


async def test_host_without_stages_refuses_to_start(settings: WiredeskSettings) -> None:
    host = StageHost(settings, service="empty")
    with pytest.raises(ValueError, match="no stage to run"):
        await host.start()
    await host.redis.aclose()

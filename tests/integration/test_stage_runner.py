"""The run loop itself (wiredesk.service.StageRunner), driven directly with a tiny stage.

The service tests reach the runner through ingest, dedupe and store, so a regression in its
own promises (a failed batch stays pending and is counted, poison is isolated, an entry out of
attempts is dead-lettered by reclaim with its last error) would show up only as some stage's
odd result. Here the stage is ten lines on the suite's real Redis, and each promise is checked
against the group's pending list, the dead-letter stream and the failure counter.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from wiredesk.messages import DeadLetter, decode_entry
from wiredesk.service import StageRunner
from wiredesk.settings import WiredeskSettings
from wiredesk.streaming import Entry, read_new, reclaim

pytestmark = pytest.mark.integration

MAX_ATTEMPTS = 2


class Picky:
    """Acks every entry unless the batch holds one marked ``bad``; then the whole batch raises.

    ``RuntimeError`` is neither transient nor permanent to wiredesk.errors, so the runner must
    retry it; a ``ValueError`` (``kind=permanent``) is permanent and must be dead-lettered at once.
    """

    def __init__(self, name: str, input_stream: str) -> None:
        self.name, self.input_stream, self.group = name, input_stream, "g"
        self.seen: list[list[str]] = []  # the ids of every batch handed to handle()
        self.redis: Redis | None = None

    async def setup(self, redis: Redis) -> None:
        self.redis = redis

    async def handle(self, entries: list[Entry]) -> None:
        self.seen.append([entry.id for entry in entries])
        kinds = {entry.fields.get(b"kind") for entry in entries}
        if b"permanent" in kinds:
            raise ValueError("cannot ever be handled")
        if b"bad" in kinds:
            raise RuntimeError("boom")
        assert self.redis is not None
        await self.redis.xack(self.input_stream, self.group, *(entry.id for entry in entries))

    async def close(self) -> None:
        pass


def failed(stage: str) -> float:
    return REGISTRY.get_sample_value("wiredesk_failed_total", {"stage": stage}) or 0.0


async def pending_ids(redis: Redis, stream: str) -> set[str]:
    rows = await redis.xpending_range(stream, "g", min="-", max="+", count=100)
    return {row["message_id"].decode() for row in rows}


def run_dlq(run: StageRunner) -> str:
    return run.settings.streams.dlq


@pytest.fixture
def runner_settings(settings: WiredeskSettings) -> WiredeskSettings:
    # claim_interval_s is long so the runner's own reclaim loop never races the test's calls
    return settings.model_copy(
        update={"max_attempts": MAX_ATTEMPTS, "claim_idle_ms": 50, "claim_interval_s": 3600.0}
    )


@pytest.fixture
async def runner(
    runner_settings: WiredeskSettings, namespace: str
) -> AsyncIterator[tuple[StageRunner, Picky]]:
    stage = Picky(f"picky-{namespace.rstrip(':')}", f"{namespace}in")
    run = StageRunner(stage, runner_settings)
    await run.start()
    yield run, stage
    await run.stop()


async def test_a_good_batch_is_acked_and_not_counted_as_failed(
    runner: tuple[StageRunner, Picky], aredis: Redis
) -> None:
    run, stage = runner
    for n in range(3):
        await aredis.xadd(stage.input_stream, {"kind": "good", "n": str(n)})
    before = failed(stage.name)
    entries = await read_new(aredis, stream=stage.input_stream, group="g", consumer="c", count=10)
    await run.process(entries)
    assert stage.seen == [[e.id for e in entries]]  # one batch, handled once
    assert await pending_ids(aredis, stage.input_stream) == set()
    assert failed(stage.name) == before
    assert await aredis.xlen(run_dlq(run)) == 0


async def test_a_failing_entry_stays_pending_counted_then_reclaim_dead_letters_it(
    runner: tuple[StageRunner, Picky], aredis: Redis
) -> None:
    run, stage = runner
    good = (await aredis.xadd(stage.input_stream, {"kind": "good"})).decode()
    bad = (await aredis.xadd(stage.input_stream, {"kind": "bad", "data": "payload"})).decode()
    before = failed(stage.name)

    await run.process(
        await read_new(aredis, stream=stage.input_stream, group="g", consumer="c", count=10)
    )
    # the batch failed, then one by one: the good entry was acked, the bad one left pending
    assert stage.seen == [[good, bad], [good], [bad]]
    assert await pending_ids(aredis, stage.input_stream) == {bad}
    assert failed(stage.name) == before + 1
    assert await aredis.xlen(run_dlq(run)) == 0

    # reclaim: delivery 2 of MAX_ATTEMPTS=2 is still a retry, and fails again
    await asyncio.sleep(0.1)  # past claim_idle_ms
    assert await run.reclaim_once() == 1
    assert stage.seen[-1] == [bad]
    assert await pending_ids(aredis, stage.input_stream) == {bad}
    assert failed(stage.name) == before + 2
    assert await aredis.xlen(run_dlq(run)) == 0

    # delivery 3 is past max_attempts: dead-lettered with the last error, not handled again
    await asyncio.sleep(0.1)
    handled = len(stage.seen)
    assert await run.reclaim_once() == 1
    assert len(stage.seen) == handled
    assert await pending_ids(aredis, stage.input_stream) == set()
    assert failed(stage.name) == before + 2
    ((_, fields),) = await aredis.xrange(run_dlq(run))
    letter = decode_entry(fields, DeadLetter, max_bytes=100_000)
    assert (letter.reason, letter.stage, letter.source_id) == ("max-attempts", stage.name, bad)
    assert letter.source_stream == stage.input_stream
    assert letter.error == "RuntimeError: boom"
    assert letter.attempts == MAX_ATTEMPTS + 1
    assert letter.original_bytes() == b"payload"
    assert not await aredis.hexists(run.settings.key("errors", stage.name), bad)


async def test_a_permanent_failure_is_dead_lettered_at_once_the_rest_acked(
    runner: tuple[StageRunner, Picky], aredis: Redis
) -> None:
    run, stage = runner
    good = (await aredis.xadd(stage.input_stream, {"kind": "good"})).decode()
    doomed = (await aredis.xadd(stage.input_stream, {"kind": "permanent", "data": "x"})).decode()
    before = failed(stage.name)
    await run.process(
        await read_new(aredis, stream=stage.input_stream, group="g", consumer="c", count=10)
    )
    assert stage.seen == [[good, doomed], [good], [doomed]]
    assert await pending_ids(aredis, stage.input_stream) == set()
    assert failed(stage.name) == before + 1
    ((_, fields),) = await aredis.xrange(run_dlq(run))
    letter = decode_entry(fields, DeadLetter, max_bytes=100_000)
    assert (letter.reason, letter.source_id) == ("unprocessable", doomed)
    assert letter.error == "ValueError: cannot ever be handled"


class Slow:
    """Takes ``seconds`` over every batch (a batch of articles that all need a model), noting
    each entry's delivery count just before it acks."""

    def __init__(self, name: str, input_stream: str, seconds: float) -> None:
        self.name, self.input_stream, self.group = name, input_stream, "g"
        self.seconds = seconds
        self.deliveries: list[int] = []
        self.redis: Redis | None = None

    async def setup(self, redis: Redis) -> None:
        self.redis = redis

    async def handle(self, entries: list[Entry]) -> None:
        assert self.redis is not None
        await asyncio.sleep(self.seconds)
        rows = await self.redis.xpending_range(self.input_stream, "g", min="-", max="+", count=100)
        self.deliveries = [row["times_delivered"] for row in rows]
        await self.redis.xack(self.input_stream, self.group, *(entry.id for entry in entries))

    async def close(self) -> None:
        pass


async def test_a_batch_slower_than_claim_idle_is_not_reclaimed_from_a_live_replica(
    runner_settings: WiredeskSettings, namespace: str, aredis: Redis
) -> None:
    """A batch taking 6x ``claim_idle_ms``: another replica's reclaim passes, every 50 ms,
    find nothing to take, and the entries are still on their first delivery when acked."""
    settings = runner_settings.model_copy(update={"claim_idle_ms": 150, "consumer": "live"})
    stage = Slow(f"slow-{namespace.rstrip(':')}", f"{namespace}in", seconds=0.9)
    run = StageRunner(stage, settings)
    await run.start()
    try:
        for n in range(3):
            await aredis.xadd(stage.input_stream, {"n": str(n)})
        entries = await read_new(
            aredis, stream=stage.input_stream, group="g", consumer="live", count=10
        )
        handling = asyncio.create_task(run.process(entries))
        taken = []
        while not handling.done():
            await asyncio.sleep(0.05)
            taken += await reclaim(
                aredis, stream=stage.input_stream, group="g", consumer="other", min_idle_ms=150
            )
        await handling
    finally:
        await run.stop()
    assert taken == []
    assert stage.deliveries == [1, 1, 1]
    assert await pending_ids(aredis, stage.input_stream) == set()

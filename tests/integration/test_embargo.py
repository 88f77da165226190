"""Embargoes on a real Redis: held until their time, released once, across restarts and replicas.

The ingest stage runs through its :class:`~wiredesk.service.StageRunner` (the service's own
control loop, release loop included); entries are fed with ``read_new`` so the test decides when
a batch is read. One test runs ``wiredesk run ingest`` as a process and restarts it.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from services.ingest.settings import IngestSettings
from services.ingest.stage import IngestStage
from wiredesk.app.launcher import ServiceProcesses
from wiredesk.embedded import EmbeddedRedis
from wiredesk.keys import Keys
from wiredesk.messages import Article, ArticleV2, RawArticleV2, decode_entry, encode_entry
from wiredesk.partitions import partition_for
from wiredesk.service import StageRunner
from wiredesk.settings import WiredeskSettings
from wiredesk.streaming import read_new

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

BODY = (
    "The central bank raised its main interest rate by half a point on Tuesday, the third "
    "increase this year, saying inflation had not slowed as fast as it expected in spring."
)


def item(n: int, embargoed: datetime | None) -> RawArticleV2:
    return RawArticleV2(
        id=f"emb-{n}",
        source="wire",
        url=f"urn:wire:{n}",
        title=f"Rates rise, item {n}",
        body=f"{BODY} Item {n}.",
        guid=f"urn:wire:{n}",
        version="1",
        embargoed=embargoed,
        format="ninjs-2.1",
    )


def ingest_settings(settings: WiredeskSettings, **extra: object) -> IngestSettings:
    return IngestSettings(
        **{**settings.model_dump(), "embargo_poll_s": 0.2, "graceful_timeout_s": 2.0, **extra}
    )


@asynccontextmanager
async def running(s: IngestSettings, *, partition: int = 0) -> AsyncIterator[StageRunner]:
    keys = Keys.from_settings(s)
    runner = StageRunner(IngestStage(s, partition=partition, keys=keys), s)
    await runner.start()
    try:
        yield runner
    finally:
        await runner.stop()


async def feed(runner: StageRunner) -> None:
    """Read and handle every entry waiting on the runner's input, as the subscriber would."""
    while entries := await read_new(
        runner.redis,
        stream=runner.stage.input_stream,
        group=runner.stage.group,
        consumer=runner.settings.consumer,
        count=50,
    ):
        await runner.process(entries)


async def normalized(redis: Redis, stream: str) -> list[Article]:
    out = []
    for _, fields in await redis.xrange(stream):
        out.append(decode_entry(fields, Article, max_bytes=10_000_000))
    return out


async def wait_for_count(redis: Redis, stream: str, n: int, timeout: float) -> float:
    """Wait until ``stream`` has ``n`` entries; the time.time() at which it had them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await redis.xlen(stream) >= n:
            return time.time()
        await asyncio.sleep(0.02)
    raise AssertionError(f"{stream} has {await redis.xlen(stream)} entries, expected {n}")


def gauge(name: str) -> float | None:
    return REGISTRY.get_sample_value(name)


async def test_an_embargoed_item_is_held_until_its_time_then_released_once(
    settings: WiredeskSettings, aredis: Redis
) -> None:
    s = ingest_settings(settings)
    keys = Keys.from_settings(s)
    async with running(s) as runner:
        await aredis.xadd(s.streams.raw, encode_entry(item(2, None)))  # no embargo: at once
        past = datetime.now(UTC) - timedelta(hours=1)
        await aredis.xadd(s.streams.raw, encode_entry(item(3, past)))  # embargo over: at once
        await feed(runner)  # (also loads what normalizing needs: the next batch is quick)
        release = datetime.now(UTC) + timedelta(seconds=2)
        await aredis.xadd(s.streams.raw, encode_entry(item(1, release)))
        await feed(runner)

        passed = await normalized(aredis, s.streams.normalized)
        assert [a.id for a in passed] == ["emb-2", "emb-3"]
        assert await aredis.zcard(keys.embargo()) == 1
        # the input is acked in the step that holds it: nothing pending, nothing redelivered
        assert (await aredis.xpending(s.streams.raw, s.groups.ingest))["pending"] == 0
        await asyncio.sleep(0.5)  # a release pass or two
        assert gauge("wiredesk_embargo_held") == 1
        assert gauge("wiredesk_embargo_overdue_seconds") == 0
        assert await aredis.xlen(s.streams.normalized) == 2, "released before its time"

        seen_at = await wait_for_count(aredis, s.streams.normalized, 3, timeout=10)
        assert seen_at >= release.timestamp(), "released before its embargo"
        assert seen_at - release.timestamp() < 2.0, "released much later than its embargo"
        released = (await normalized(aredis, s.streams.normalized))[-1]
        assert isinstance(released, ArticleV2)
        assert released.id == "emb-1" and released.embargoed == release
        assert await aredis.zcard(keys.embargo()) == 0
        assert await aredis.hlen(keys.embargo_items()) == 0
        await asyncio.sleep(0.5)
        assert await aredis.xlen(s.streams.normalized) == 3  # once
        assert gauge("wiredesk_embargo_held") == 0

        # a replay of the held item (same id) after its release is a replay, not a new item
        await aredis.xadd(s.streams.raw, encode_entry(item(1, release)))
        await feed(runner)
        assert await aredis.xlen(s.streams.normalized) == 3


async def test_a_replay_of_a_held_item_is_held_once(
    settings: WiredeskSettings, aredis: Redis
) -> None:
    s = ingest_settings(settings)
    keys = Keys.from_settings(s)
    release = datetime.now(UTC) + timedelta(hours=1)
    async with running(s) as runner:
        for _ in range(3):
            await aredis.xadd(s.streams.raw, encode_entry(item(7, release)))
        await feed(runner)
        assert await aredis.zcard(keys.embargo()) == 1
        assert await aredis.xlen(s.streams.normalized) == 0
        assert (await aredis.xpending(s.streams.raw, s.groups.ingest))["pending"] == 0


async def test_held_items_survive_a_restart_and_are_released_once_after_it(
    settings: WiredeskSettings, aredis: Redis
) -> None:
    s = ingest_settings(settings)
    release = datetime.now(UTC) + timedelta(seconds=1.5)
    async with running(s) as first:
        for n in range(5):
            await aredis.xadd(s.streams.raw, encode_entry(item(n, release)))
        await feed(first)
        assert await aredis.zcard(Keys.from_settings(s).embargo()) == 5
    # stopped: the time passes with no ingest running, nothing goes out
    await asyncio.sleep(max(0.0, release.timestamp() - time.time()) + 0.5)
    assert await aredis.xlen(s.streams.normalized) == 0
    async with running(s):
        await wait_for_count(aredis, s.streams.normalized, 5, timeout=10)
        await asyncio.sleep(0.6)
    ids = sorted(a.id for a in await normalized(aredis, s.streams.normalized))
    assert ids == [f"emb-{n}" for n in range(5)]


async def test_two_replicas_release_each_item_once(
    settings: WiredeskSettings, aredis: Redis
) -> None:
    a = ingest_settings(settings, consumer="replica-a", embargo_poll_s=0.05)
    b = ingest_settings(settings, consumer="replica-b", embargo_poll_s=0.05)
    release = datetime.now(UTC) + timedelta(seconds=1.5)
    async with running(a) as ra, running(b) as rb:
        for n in range(40):  # staggered by 10 ms: the replicas race on many release passes
            when = release + timedelta(milliseconds=10 * n)
            await aredis.xadd(a.streams.raw, encode_entry(item(n, when)))
        await asyncio.gather(feed(ra), feed(rb))
        assert await aredis.xlen(a.streams.normalized) == 0
        await wait_for_count(aredis, a.streams.normalized, 40, timeout=15)
        await asyncio.sleep(0.5)
        ids = [x.id for x in await normalized(aredis, a.streams.normalized)]
    assert sorted(ids) == sorted(f"emb-{n}" for n in range(40))
    assert len(ids) == 40


async def test_stopping_a_stage_with_held_items_is_prompt(
    settings: WiredeskSettings, aredis: Redis
) -> None:
    s = ingest_settings(settings, embargo_poll_s=30.0)
    runner = StageRunner(IngestStage(s), s)
    await runner.start()
    await aredis.xadd(s.streams.raw, encode_entry(item(1, datetime.now(UTC) + timedelta(days=2))))
    await feed(runner)
    stage = runner.stage
    assert isinstance(stage, IngestStage) and stage.release_loop is not None
    loop = stage.release_loop
    assert loop.running
    started = time.monotonic()
    await runner.stop()
    assert time.monotonic() - started < 2.0
    assert not loop.running


async def test_stopping_a_stage_whose_redis_died_is_prompt(tmp_path: Path) -> None:
    """The release loop must not keep the stage alive retrying a dead Redis."""
    with EmbeddedRedis() as server:
        s = IngestSettings(
            redis_url=server.url,
            consumer="dead-redis",
            embargo_poll_s=0.05,
            claim_interval_s=0.05,
            graceful_timeout_s=1.0,
        )
        runner = StageRunner(IngestStage(s), s)
        await runner.start()
        client = Redis.from_url(server.url)
        when = datetime.now(UTC) + timedelta(days=1)
        await client.xadd(s.streams.raw, encode_entry(item(1, when)))
        await client.aclose()
        await feed(runner)
        server.kill()
        await asyncio.sleep(1.0)  # the loops now fail and back off
        started = time.monotonic()
        await asyncio.wait_for(runner.stop(), timeout=20)
        assert time.monotonic() - started < 5.0


async def test_the_partitioned_layout_holds_in_the_partitions_slot(
    settings: WiredeskSettings, aredis: Redis
) -> None:
    s = ingest_settings(settings, partitions=3)
    keys = Keys.from_settings(s)
    assert keys.tagged
    raw = item(9, datetime.now(UTC) + timedelta(seconds=1))
    p = partition_for(raw.id, 3)
    assert keys.tag(p) in keys.embargo(p) and keys.tag(p) in keys.embargo_items(p)
    async with running(s, partition=p) as runner:
        await aredis.xadd(keys.raw(p), encode_entry(raw))
        await feed(runner)
        assert await aredis.zcard(keys.embargo(p)) == 1
        await wait_for_count(aredis, keys.normalized(p), 1, timeout=10)
    assert await aredis.zcard(keys.embargo(p)) == 0


def run_status(env: dict[str, str]) -> str:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "wiredesk"), "status"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env, "COLUMNS": "250"},
    )
    return result.stdout


async def test_the_service_holds_across_a_restart_and_status_shows_the_hold(
    settings: WiredeskSettings, service_env: dict[str, str], aredis: Redis, tmp_path: Path
) -> None:
    """``wiredesk run ingest`` as a process: hold, SIGTERM (prompt exit 0), start again after
    the embargo: released once. ``wiredesk status`` shows the count and the next release."""
    env = {**service_env, "WIREDESK_EMBARGO_POLL_S": "0.2", "WIREDESK_GRACEFUL_TIMEOUT_S": "3"}
    release = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=6)
    far = release + timedelta(days=1)
    with ServiceProcesses(env, services=["ingest"], log_dir=tmp_path / "logs") as services:
        await aredis.xadd(settings.streams.raw, encode_entry(item(1, release)))
        await aredis.xadd(settings.streams.raw, encode_entry(item(2, far)))
        await aredis.xadd(settings.streams.raw, encode_entry(item(3, None)))
        await wait_for_count(aredis, settings.streams.normalized, 1, timeout=30)
        keys = Keys.from_settings(settings)
        for _ in range(200):
            if await aredis.zcard(keys.embargo()) >= 2:
                break
            await asyncio.sleep(0.05)
        out = run_status(env)
        assert f"embargo: 2 held, next release {release.isoformat()}" in out, out
        started = time.monotonic()
        codes = services.stop(timeout=15)
        assert codes == {"ingest": [0]}
        assert time.monotonic() - started < 8
    await asyncio.sleep(max(0.0, release.timestamp() - time.time()) + 0.5)
    assert await aredis.xlen(settings.streams.normalized) == 1  # nobody released it
    with ServiceProcesses(env, services=["ingest"], log_dir=tmp_path / "logs2"):
        await wait_for_count(aredis, settings.streams.normalized, 2, timeout=30)
        await asyncio.sleep(1.0)
        assert await aredis.xlen(settings.streams.normalized) == 2
    ids = [a.id for a in await normalized(aredis, settings.streams.normalized)]
    assert ids == ["emb-3", "emb-1"]
    assert f"embargo: 1 held, next release {far.isoformat()}" in run_status(env)

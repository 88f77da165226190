"""Redis dies in the middle of a replay and comes back on the same port with its AOF.

Two cases, one per persistence trade-off:

- ``appendfsync always`` + SIGKILL: a crash. Every acknowledged write was fsynced before its
  reply, so nothing acknowledged may be lost.
- ``appendfsync everysec`` + SIGTERM: a clean restart (upgrade, failover drill). Redis flushes
  and fsyncs the AOF on shutdown, so again nothing may be lost. (everysec with a crash of the
  *machine* can lose the last ~1-2 s of acknowledged writes; a test cannot pull the plug, so
  that case is documented rather than tested.)

Services must ride out the outage (client retries with backoff, FastStream's reader retries,
the reclaim loop backs off), then finish the replay to the same end state as an undisturbed run.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from tests.e2e.helpers import service_logs
from tests.reliability.corpus import corpus
from tests.reliability.harness import audit, expected_outcome, publish_resilient, wait_settled
from wiredesk.app.launcher import ServiceProcesses
from wiredesk.embedded import AppendFsync, EmbeddedRedis
from wiredesk.settings import WiredeskSettings

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]


@pytest.fixture
async def aof_redis(request: pytest.FixtureRequest) -> AsyncIterator[EmbeddedRedis]:
    fsync: AppendFsync = request.param
    server = EmbeddedRedis(appendonly=True, appendfsync=fsync)
    await asyncio.to_thread(server.start)
    try:
        yield server
    finally:
        await asyncio.to_thread(server.cleanup)


@pytest.mark.parametrize(
    ("aof_redis", "sig"),
    [("always", signal.SIGKILL), ("everysec", signal.SIGTERM)],
    indirect=["aof_redis"],
    ids=["always-sigkill", "everysec-sigterm"],
)
async def test_redis_restart_mid_replay_loses_nothing(
    aof_redis: EmbeddedRedis,
    sig: signal.Signals,
    settings: WiredeskSettings,
    reliability_env: dict[str, str],
    db_path: Path,
    tmp_path: Path,
) -> None:
    articles = corpus(2000)[:1000]
    expected_job = asyncio.create_task(asyncio.to_thread(expected_outcome, articles))
    env = {**reliability_env, "REDIS_URL": aof_redis.url}
    log_dir = tmp_path / "logs"
    client = Redis.from_url(aof_redis.url)
    services = ServiceProcesses(env, log_dir=log_dir).start()
    halfway = asyncio.Event()
    started = time.monotonic()

    async def progress(sent: int) -> None:
        if sent >= len(articles) * 2 // 5:
            halfway.set()

    try:
        publishing = asyncio.create_task(
            publish_resilient(
                client, settings.streams.raw, articles, chunk=20, rate=120, on_chunk=progress
            )
        )
        await halfway.wait()
        before = await client.xlen(settings.streams.raw)
        down = time.monotonic()
        await asyncio.to_thread(aof_redis.restart, sig=sig, down_s=1.5)
        downtime = time.monotonic() - down
        after = await client.xlen(settings.streams.raw)
        retried_chunks = await publishing
        expected = await expected_job
        settle_s = await wait_settled(
            client, settings.streams, db_path, expected, timeout=120, services=services
        )
        result = await audit(client, settings.streams, db_path, expected)
    finally:
        codes = services.stop()
        await client.aclose()
    print(
        f"\nREDIS-RESTART appendfsync={aof_redis.appendfsync} signal={sig.name} "
        + result.line(
            published=len(articles),
            raw_before_kill=before,
            raw_after_restart=after,
            redis_down_s=round(downtime, 1),
            producer_retried_chunks=retried_chunks,
            settle_after_publish_s=round(settle_s, 1),
            seconds=round(time.monotonic() - started, 1),
        )
    )
    assert after >= before, "acknowledged raw entries were lost by the restart"
    assert not result.problems, f"{result.problems}\n{service_logs(log_dir)}"
    assert all(c == [0] for c in codes.values()), (codes, service_logs(log_dir))

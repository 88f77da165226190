"""Chaos: every service is SIGKILLed at random moments during a 2,000-article replay.

SIGKILL is the honest crash: no handler runs, nothing is flushed, in-flight batches are simply
abandoned in the dead consumer's pending list. The promises under test are the delivery ones of
DESIGN.md: every article stored exactly once, one ``articles:unique`` entry per story, the same
story partition as an undisturbed run, nothing left pending.
"""

from __future__ import annotations

import asyncio
import random
import signal
import time
from pathlib import Path

import pytest
from redis.asyncio import Redis

from tests.e2e.helpers import service_logs
from tests.reliability.corpus import corpus
from tests.reliability.harness import audit, expected_outcome, publish_resilient, wait_settled
from wiredesk.app.launcher import SERVICES, ServiceProcesses
from wiredesk.settings import WiredeskSettings

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

KILLS_PER_SERVICE = 3


async def test_sigkill_chaos_loses_and_doubles_nothing(
    aredis: Redis,
    settings: WiredeskSettings,
    reliability_env: dict[str, str],
    db_path: Path,
    tmp_path: Path,
) -> None:
    articles = corpus(2000)
    expected_job = asyncio.create_task(asyncio.to_thread(expected_outcome, articles))
    rng = random.Random(31337)
    log_dir = tmp_path / "logs"
    services = ServiceProcesses(reliability_env, replicas={"dedupe": 2}, log_dir=log_dir).start()
    killed: set[int] = set()
    started = time.monotonic()
    try:
        publishing = asyncio.create_task(
            publish_resilient(aredis, settings.streams.raw, articles, chunk=20, rate=120)
        )
        schedule = [s for s in SERVICES for _ in range(KILLS_PER_SERVICE)]
        rng.shuffle(schedule)
        for victim in schedule:
            await asyncio.sleep(rng.uniform(0.6, 1.8))
            proc = services.kill_one(victim, sig=signal.SIGKILL, rng=rng)
            if proc is not None:
                killed.add(proc.pid)
            await asyncio.sleep(rng.uniform(0.0, 0.5))  # down for a moment, then back
            services.start_one(victim)
        await publishing
        expected = await expected_job
        settle_s = await wait_settled(
            aredis, settings.streams, db_path, expected, timeout=150, services=services
        )
        result = await audit(aredis, settings.streams, db_path, expected)
    finally:
        codes = services.stop()
    kills = sum(services.kills.values())
    restarts = sum(services.restarts().values())
    print(
        "\nCHAOS "
        + result.line(
            published=len(articles),
            kills=kills,
            kills_per_service=services.kills,
            restarts=restarts,
            seconds=round(time.monotonic() - started, 1),
            settle_after_publish_s=round(settle_s, 1),
        )
    )
    assert not result.problems, f"{result.problems}\n{service_logs(log_dir)}"
    assert all(services.kills.get(s, 0) >= KILLS_PER_SERVICE for s in SERVICES)
    survivors = [
        code
        for procs in services.procs.values()
        for proc, code in zip(procs, (p.returncode for p in procs), strict=True)
        if proc.pid not in killed
    ]
    assert survivors and all(code == 0 for code in survivors), (codes, service_logs(log_dir))

"""Items' lifecycles with the services as processes: three dedupe replicas, and the same with
a dedupe replica SIGKILLed at every step while the step's entry is in flight.

Each step is published once the one before was acknowledged everywhere (the issue's "in
order"); which replica decides it is up to the group. A SIGKILLed replica leaves its entry
pending; another replica reclaims it (claim idle 1.5 s) and decides it once, against the log.
"""

from __future__ import annotations

import asyncio
import random
import signal
from pathlib import Path

import pytest
from redis.asyncio import Redis

from tests.e2e.helpers import drained, service_logs, wait_until
from tests.lifecycle_story import STEPS, check_story_run, read_run, story_items
from wiredesk.app.launcher import ServiceProcesses
from wiredesk.replay import publish
from wiredesk.settings import WiredeskSettings

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


@pytest.fixture
def lifecycle_env(service_env: dict[str, str]) -> dict[str, str]:
    """Reclaim within seconds, no model (exact and near decide these copies)."""
    return {
        **service_env,
        "WIREDESK_CLAIM_IDLE_MS": "1500",
        "WIREDESK_CLAIM_INTERVAL_S": "0.5",
        "WIREDESK_GRACEFUL_TIMEOUT_S": "5",
        "WIREDESK_SEMANTIC": "false",
    }


async def kill_holder(
    aredis: Redis, stream: str, services: ServiceProcesses, rng: random.Random
) -> int:
    """SIGKILL the dedupe replica that holds the step's entry unacknowledged, if one is seen
    within two seconds (returns 1), else a random replica (returns 0)."""
    for _ in range(200):
        if await aredis.exists(stream):
            pending = await aredis.xpending_range(stream, "dedupe", min="-", max="+", count=1)
            if pending:
                holder = str(pending[0]["consumer"], "utf-8")  # type: ignore[arg-type]
                for proc in services.live("dedupe"):
                    if services.consumers.get(proc.pid) == holder:
                        proc.send_signal(signal.SIGKILL)
                        proc.wait(timeout=30)
                        services.kills["dedupe"] = services.kills.get("dedupe", 0) + 1
                        return 1
        await asyncio.sleep(0.01)
    services.kill_one("dedupe", sig=signal.SIGKILL, rng=rng)
    return 0


async def run_story(
    aredis: Redis,
    settings: WiredeskSettings,
    env: dict[str, str],
    log_dir: Path,
    *,
    kill: bool,
) -> None:
    items = story_items()
    rng = random.Random(15)
    services = ServiceProcesses(
        env, services=("ingest", "dedupe"), replicas={"dedupe": 3}, log_dir=log_dir
    ).start()
    streams = settings.streams
    in_flight = 0
    try:
        for name in STEPS:
            assert await publish(aredis, streams.raw, [items[name]]) == 1
            if kill:
                in_flight += await kill_holder(aredis, streams.normalized, services, rng)
                services.start_one("dedupe")

            async def done() -> bool:
                return await drained(aredis, streams.raw, "ingest") and await drained(
                    aredis, streams.normalized, "dedupe"
                )

            await wait_until(done, timeout=60, what=f"step {name} decided")
        check_story_run(await read_run(aredis, streams), items)

        async def all_started() -> bool:  # a replica SIGTERMed before its handlers exist dies
            procs = services.procs["dedupe"]
            live = [log_dir / f"dedupe-{i}.log" for i, p in enumerate(procs) if p.poll() is None]
            return all("stage started" in path.read_text() for path in live)

        await wait_until(all_started, timeout=60, what="every dedupe replica started")
    except AssertionError as failure:
        raise AssertionError(f"{failure}\n{service_logs(log_dir)}") from failure
    finally:
        codes = services.stop()
    print(
        f"\nLIFECYCLE kills={len(STEPS) if kill else 0} of a replica holding the entry={in_flight}"
    )
    returned = [p.returncode for ps in services.procs.values() for p in ps]
    assert returned.count(-signal.SIGKILL) == (len(STEPS) if kill else 0), codes
    assert all(code in (0, -signal.SIGKILL) for code in returned), service_logs(log_dir)


async def test_three_dedupe_replicas_apply_the_story_lifecycle(
    aredis: Redis, settings: WiredeskSettings, lifecycle_env: dict[str, str], tmp_path: Path
) -> None:
    await run_story(aredis, settings, lifecycle_env, tmp_path / "logs", kill=False)


async def test_sigkilled_dedupe_replicas_lose_and_double_no_story_event(
    aredis: Redis, settings: WiredeskSettings, lifecycle_env: dict[str, str], tmp_path: Path
) -> None:
    await run_story(aredis, settings, lifecycle_env, tmp_path / "logs", kill=True)

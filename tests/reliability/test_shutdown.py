"""Shutdown: SIGTERM mid-replay exits 0 within the grace period; SIGKILL loses nothing.

The services are stopped while busy (the store has started but the replay is far from done):
first every service with SIGTERM (each must exit 0 within ``WIREDESK_GRACEFUL_TIMEOUT_S`` plus
interpreter teardown), then, after a restart, every service with SIGKILL at once. A final
generation finishes the replay; the end state must be that of an undisturbed run.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from pathlib import Path

import pytest
from redis.asyncio import Redis

from tests.e2e.helpers import service_logs
from tests.reliability.corpus import corpus
from tests.reliability.harness import (
    audit,
    expected_outcome,
    publish_resilient,
    store_rows,
    wait_settled,
)
from wiredesk.app.launcher import SERVICES, ServiceProcesses
from wiredesk.settings import WiredeskSettings

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

GRACE_S = 5.0
TEARDOWN_SLACK_S = 3.0


async def wait_stored_more_than(db_path: Path, count: int, services: ServiceProcesses) -> int:
    for _ in range(600):
        stored = len(store_rows(db_path))
        if stored > count:
            return stored
        assert all(services.live(s) for s in SERVICES), services.exit_codes()
        await asyncio.sleep(0.05)
    raise AssertionError(f"the store never passed {count} articles")


def terminate_all(procs: list[subprocess.Popen[bytes]]) -> list[tuple[int | None, float]]:
    """SIGTERM everyone at once; (exit code, seconds to exit) each."""
    sent = time.monotonic()
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    out: list[tuple[int | None, float]] = []
    for proc in procs:
        try:
            proc.wait(timeout=GRACE_S + 15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        out.append((proc.returncode, time.monotonic() - sent))
    return out


async def test_sigterm_is_graceful_and_sigkill_loses_nothing(
    aredis: Redis,
    settings: WiredeskSettings,
    reliability_env: dict[str, str],
    db_path: Path,
    tmp_path: Path,
) -> None:
    articles = corpus(2000)[:1000]
    expected_job = asyncio.create_task(asyncio.to_thread(expected_outcome, articles))
    env = {**reliability_env, "WIREDESK_GRACEFUL_TIMEOUT_S": str(GRACE_S)}
    log_dir = tmp_path / "logs"
    services = ServiceProcesses(env, log_dir=log_dir).start()
    try:
        publishing = asyncio.create_task(
            publish_resilient(aredis, settings.streams.raw, articles, chunk=50, rate=150)
        )
        stored = await wait_stored_more_than(db_path, 50, services)
        generation = [p for s in SERVICES for p in services.live(s)]
        terms = terminate_all(generation)
        stored_after_term = len(store_rows(db_path))

        for service in SERVICES:
            services.start_one(service)
        await wait_stored_more_than(db_path, stored_after_term + 50, services)
        for service in SERVICES:
            services.kill_one(service, sig=signal.SIGKILL)
        stored_after_kill = len(store_rows(db_path))

        for service in SERVICES:
            services.start_one(service)
        await publishing
        expected = await expected_job
        await wait_settled(
            aredis, settings.streams, db_path, expected, timeout=120, services=services
        )
        result = await audit(aredis, settings.streams, db_path, expected)
    finally:
        final = services.stop()
    print(
        "\nSHUTDOWN "
        + result.line(
            stored_at_sigterm=stored,
            stored_after_sigterm=stored_after_term,
            sigterm_exit=[(code, round(s, 1)) for code, s in terms],
            stored_after_sigkill=stored_after_kill,
        )
    )
    for code, seconds in terms:
        assert code == 0, (terms, service_logs(log_dir))
        assert seconds <= GRACE_S + TEARDOWN_SLACK_S, (terms, service_logs(log_dir))
    assert not result.problems, f"{result.problems}\n{service_logs(log_dir)}"
    assert all(codes[-1] == 0 for codes in final.values()), final

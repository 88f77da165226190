"""Hostile input against the running pipeline: every case ends where the table says, at once,
and the valid article behind it is not held up.

``WIREDESK_HOSTILE_MAX_WAIT_S`` (default 3 s) bounds both how long a bad entry may take to reach
its outcome and how long the probe behind it may wait: about ten times what it takes on an idle
2-core machine, and a tenth of the 30 s reclaim stall this suite exists to catch.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from typing import Any

import pytest

from tests.hostile.cases import Case, all_cases
from tests.hostile.runner import DLQ_MAX_PAYLOAD_BYTES, Outcome, run_cases

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

CASES = all_cases()
MAX_WAIT_S = float(os.environ.get("WIREDESK_HOSTILE_MAX_WAIT_S", "3"))


@dataclass
class Run:
    outcomes: dict[str, Outcome]
    exit_codes: dict[str, list[int | None]]
    info: dict[str, Any]


@pytest.fixture(scope="module")
def run(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Run:
    tmp = tmp_path_factory.mktemp("hostile")
    results, services, info = asyncio.run(run_cases(CASES, redis_url=redis_url, tmp=tmp))
    return Run(results, services.stop(), info)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case: Case, run: Run) -> None:
    got = run.outcomes[case.name]
    assert got.got == case.expect, f"{case.name}: got {got.got} {got.reason} {got.error}"
    if case.expect == "dlq":
        assert got.reason == case.reason, f"{case.name}: reason {got.reason}: {got.error}"
        # whatever the payload, the letter is bounded (payload head + metadata)
        assert got.letter_bytes < 4 * DLQ_MAX_PAYLOAD_BYTES, f"{case.name}: {got.letter_bytes} B"
        too_big = len(case.fields.get(b"data", b"")) > DLQ_MAX_PAYLOAD_BYTES
        assert got.letter_truncated == too_big, case.name
    if case.expect == "stored":
        assert got.stored_ok, f"{case.name}: stored, but not as expected"
    assert got.outcome_s < MAX_WAIT_S, f"{case.name}: outcome after {got.outcome_s:.2f}s"
    assert got.probe_wait_s is not None, f"{case.name}: the valid article behind it never came"
    assert got.probe_wait_s < MAX_WAIT_S, f"{case.name}: probe waited {got.probe_wait_s:.2f}s"


def test_nothing_left_pending_and_every_service_exits_cleanly(run: Run) -> None:
    assert run.exit_codes == {s: [0] for s in ("ingest", "dedupe", "store")}, run.exit_codes
    assert all(n == 0 for n in run.info["pending"].values()), f"left pending: {run.info}"

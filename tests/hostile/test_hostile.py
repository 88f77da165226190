"""Hostile input against the running pipeline: every case ends where the table says, at once,
and the valid article behind it is not held up.

``WIREDESK_HOSTILE_MAX_WAIT_S`` (default 3 s) bounds both how long a bad entry may take to reach
its outcome and how long the probe behind it may wait: about ten times what it takes on an idle
2-core machine, and a tenth of the 30 s reclaim stall this suite exists to catch.
"""

from __future__ import annotations

import asyncio
import os

import pytest

from tests.hostile.cases import Case, all_cases
from tests.hostile.runner import Outcome, run_cases

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

CASES = all_cases()
MAX_WAIT_S = float(os.environ.get("WIREDESK_HOSTILE_MAX_WAIT_S", "3"))


@pytest.fixture(scope="module")
def outcomes(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    tmp = tmp_path_factory.mktemp("hostile")
    results, services, info = asyncio.run(run_cases(CASES, redis_url=redis_url, tmp=tmp))
    codes = services.stop()
    assert codes == {s: [0] for s in ("ingest", "dedupe", "store")}, codes
    assert all(n == 0 for n in info["pending"].values()), f"left pending: {info}"
    return results


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case: Case, outcomes: dict[str, Outcome]) -> None:
    got = outcomes[case.name]
    assert got.got == case.expect, f"{case.name}: got {got.got} {got.reason} {got.error}"
    if case.expect == "dlq":
        assert got.reason == case.reason, f"{case.name}: reason {got.reason}: {got.error}"
    if case.expect == "stored":
        assert got.stored_ok, f"{case.name}: stored, but not as expected"
    assert got.outcome_s < MAX_WAIT_S, f"{case.name}: outcome after {got.outcome_s:.2f}s"
    assert got.probe_wait_s is not None, f"{case.name}: the valid article behind it never came"
    assert got.probe_wait_s < MAX_WAIT_S, f"{case.name}: probe waited {got.probe_wait_s:.2f}s"

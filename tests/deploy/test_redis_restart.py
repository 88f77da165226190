"""Redis killed in the middle of a replay and started again: nothing acknowledged is lost (AOF)."""

from __future__ import annotations

import json
import subprocess
import threading
import time

import pytest

from tests.conftest import DEV_SET
from tests.deploy.helpers import settled, stored_count, wait_for, xlen
from wiredesk.testing import ANNOTATED, DLQ, RAW, ComposeStack

pytestmark = [pytest.mark.docker, pytest.mark.timeout(600)]

DEV = DEV_SET


def test_redis_killed_mid_replay_loses_nothing(fresh_stack: ComposeStack) -> None:
    stack = fresh_stack
    with DEV.open("rb") as handle:
        total = len({json.loads(line)["id"] for line in handle if line.strip()})
    url = stack.redis_url

    outcome: list[BaseException] = []

    def replay_slowly() -> None:
        try:
            stack.replay(DEV, "--rate", "60")
        except (RuntimeError, subprocess.TimeoutExpired) as exc:  # killed under it: expected
            outcome.append(exc)

    replayer = threading.Thread(target=replay_slowly)
    replayer.start()
    wait_for(lambda: xlen(url, RAW) >= 60, what="60 raw entries", stack=stack, timeout=120)
    acknowledged = xlen(url, RAW)  # every XADD counted here was acknowledged to a client
    stack.compose("kill", "redis")  # SIGKILL: a crash, not a clean shutdown
    time.sleep(1)
    stack.compose("start", "redis")
    replayer.join(timeout=300)

    url = stack.redis_url  # same published port is not guaranteed after a restart
    wait_for(lambda: settled(url), what="the pipeline to drain after the restart", stack=stack)
    assert xlen(url, RAW) >= acknowledged

    # Replaying everything again fills in whatever the replayer could not send while Redis was
    # down; ingest drops the ids it has already seen, so nothing is stored twice.
    stack.replay(DEV)
    api = stack.api_url
    wait_for(
        lambda: settled(url) and stored_count(api) == xlen(url, ANNOTATED),
        what="every article stored",
        stack=stack,
        timeout=240,
    )
    assert xlen(url, ANNOTATED) + xlen(url, DLQ) == total
    assert stored_count(api) == xlen(url, ANNOTATED)
    stack.wait_healthy()  # every service is back (restart policies / reconnects)

"""Settings for the crash tests: reclaim within seconds, short grace periods, small batches."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.store.sqlite import sqlite_path


@pytest.fixture
def reliability_env(service_env: dict[str, str]) -> dict[str, str]:
    """The per-test service environment, tuned so that recovery happens within the test's time.

    claim idle 1.5 s (production default 30 s) must still exceed the longest batch, or live
    consumers' entries get reclaimed while in flight; batches of 100 keep batches short on a
    loaded 2-core machine. The semantic stage is off: these tests prove delivery (nothing lost,
    nothing doubled, same partition) whatever decides the partition, and the model's ~30 ms per
    article would make 2,000-article crash runs take minutes and batches outlast the claim idle
    time. Semantic dedupe across replicas is tested in tests/deploy (3 replicas == 1).
    """
    return {
        **service_env,
        "WIREDESK_CLAIM_IDLE_MS": "1500",
        "WIREDESK_CLAIM_INTERVAL_S": "0.5",
        "WIREDESK_GRACEFUL_TIMEOUT_S": "5",
        "WIREDESK_BATCH_SIZE": "100",
        "WIREDESK_LOG_FORMAT": "json",
        "WIREDESK_SEMANTIC": "false",
    }


@pytest.fixture
def db_path(service_env: dict[str, str]) -> Path:
    return sqlite_path(service_env["WIREDESK_DATABASE_URL"])

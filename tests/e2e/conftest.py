"""The running pipeline that end-to-end tests share: one process per service, stopped with
SIGTERM afterwards, and every one of them must have exited 0 (a graceful shutdown)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.helpers import service_logs
from wiredesk.app.launcher import ServiceProcesses


@pytest.fixture
def pipeline(service_env: dict[str, str], tmp_path: Path) -> Iterator[ServiceProcesses]:
    services = ServiceProcesses(service_env, log_dir=tmp_path / "logs").start()
    try:
        yield services
    finally:
        codes = services.stop()
    assert codes == {s: [0] for s in ("ingest", "dedupe", "store")}, service_logs(tmp_path / "logs")

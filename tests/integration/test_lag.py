"""A real backlog shows: ``wiredesk_group_lag`` on /metrics and the ``wiredesk status`` lag column.

``XINFO GROUPS`` reports ``lag`` from Redis 7.0 on (the old embedded Redis 6.2 had none, so both
were always empty). Here a group has entries it has not read yet: 12 published, then 5 read by
the group's consumer, and both views must say 12, then 7. The stage runner's own reclaim loop
updates the gauge; FastStream's subscriber is not started, so nothing else reads the stream.
The suite runs this on the embedded server and, in tests/deploy, on the compose image's Redis 7.0.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from redis.asyncio import Redis

from services.ingest.settings import IngestSettings
from services.ingest.stage import IngestStage
from wiredesk.embedded import free_port
from wiredesk.messages import RawArticle, encode_entry
from wiredesk.service import StageRunner
from wiredesk.settings import WiredeskSettings

pytestmark = pytest.mark.integration

PUBLISHED = 12
READ = 5


def scrape_lag(port: int, stage: str) -> float | None:
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    for line in body.splitlines():
        if line.startswith(f'wiredesk_group_lag{{partition="0",stage="{stage}"}}'):
            return float(line.rsplit(" ", 1)[1])
    return None


async def wait_for_lag(port: int, stage: str, expected: int, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    seen = None
    while asyncio.get_running_loop().time() < deadline:
        seen = await asyncio.to_thread(scrape_lag, port, stage)
        if seen == expected:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"wiredesk_group_lag{{stage={stage!r}}} is {seen}, expected {expected}")


def status_lag(env: dict[str, str], stream: str, group: str) -> str:
    """The lag cell of ``wiredesk status`` for (stream, group), from the printed table."""
    result = subprocess.run(
        [str(Path(sys.executable).parent / "wiredesk"), "status"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env, "COLUMNS": "250"},
    )
    header = None
    for line in result.stdout.splitlines():
        cells = [c.strip() for c in line.strip().strip("│┃").split("│" if "│" in line else "┃")]
        if "lag" in cells and header is None:
            header = cells
        elif header is not None and len(cells) == len(header) and cells[0] == stream:
            row = dict(zip(header, cells, strict=True))
            if row["group"] == group:
                return row["lag"]
    raise AssertionError(f"no row for {stream}/{group} in:\n{result.stdout}")


async def test_lag_metric_and_status_column_show_a_backlog(
    settings: WiredeskSettings, service_env: dict[str, str], aredis: Redis, tmp_path: Path
) -> None:
    port = free_port()
    ingest = IngestSettings(
        **{**settings.model_dump(), "metrics_port": port, "claim_interval_s": 0.1}
    )
    stage = IngestStage(ingest)
    runner = StageRunner(stage, ingest)
    await runner.start()  # creates the group at the stream's start: every entry is unread
    try:
        for i in range(PUBLISHED):
            raw = RawArticle(id=f"lag-{i}", source="test", url=f"u{i}", body=f"body {i}")
            await aredis.xadd(ingest.streams.raw, encode_entry(raw))
        await wait_for_lag(port, stage.name, PUBLISHED)
        assert status_lag(service_env, ingest.streams.raw, stage.group) == str(PUBLISHED)

        await aredis.xreadgroup(stage.group, "reader", {ingest.streams.raw: ">"}, count=READ)
        await wait_for_lag(port, stage.name, PUBLISHED - READ)
        assert status_lag(service_env, ingest.streams.raw, stage.group) == str(PUBLISHED - READ)
    finally:
        await runner.stop()

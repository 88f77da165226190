"""The metrics the alert rules and the dashboard need beyond Redis's own: the read API's
/metrics (per route template and status, readiness) and the oldest pending entry's age."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from services.api.app import create_app
from services.store.db import open_store
from wiredesk.monitoring import oldest_pending_age_s
from wiredesk.streaming import ensure_group, read_new

pytestmark = pytest.mark.integration


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one series in Prometheus text format (None if absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        head, _, value = line.rpartition(" ")
        metric, _, rest = head.partition("{")
        if metric == name and ",".join(sorted(rest.rstrip("}").split(","))) == wanted:
            return float(value)
    return None


async def test_the_api_serves_metrics_per_route_template_and_its_readiness(
    tmp_path: Path,
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'api.db'}")
    transport = httpx.ASGITransport(app=create_app(store), raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
            assert (await http.get("/stories/nope")).status_code == 500  # no tables yet
            text = (await http.get("/metrics")).text
            assert sample(text, "wiredesk_ready") == 0.0  # not migrated: /readyz says 503 too
            store.migrate()
            assert (await http.get("/stories/nope")).status_code == 404
            assert (await http.get("/readyz")).status_code == 200
            text = (await http.get("/metrics")).text
    finally:
        store.close()
    assert sample(text, "wiredesk_ready") == 1.0
    count = sample(
        text,
        "wiredesk_api_requests_total",
        method="GET",
        route="/stories/{story_id}",
        status="404",
    )
    assert count is not None and count >= 1  # the template, never the id: one series per route
    failed = sample(
        text, "wiredesk_api_requests_total", method="GET", route="/stories/{story_id}", status="500"
    )
    assert failed is not None and failed >= 1
    assert "nope" not in text


async def test_the_oldest_pending_age_follows_the_lowest_pending_id(
    aredis: Redis, namespace: str
) -> None:
    stream, group = f"{namespace}s", "g"
    await ensure_group(aredis, stream, group)
    assert await oldest_pending_age_s(aredis, stream, group) == 0.0
    ten_s_ago = int(time.time() * 1000) - 10_000
    await aredis.xadd(stream, {"data": b"{}"}, id=f"{ten_s_ago}-0")
    await aredis.xadd(stream, {"data": b"{}"})
    entries = await read_new(aredis, stream=stream, group=group, consumer="c", count=10)
    assert len(entries) == 2
    age = await oldest_pending_age_s(aredis, stream, group)
    assert 10 <= age < 60
    await aredis.xack(stream, group, entries[0].id)
    assert await oldest_pending_age_s(aredis, stream, group) < 5
    await aredis.xack(stream, group, entries[1].id)
    assert await oldest_pending_age_s(aredis, stream, group) == 0.0

"""`docker-compose --profile monitoring up`: Prometheus scrapes every service, every dashboard
query returns series with its labels, and the alert rules judge the live pipeline.

One stack for the module (the monitoring profile on top of the pipeline): the seeds plus one
too-short text are replayed, so every stage has processed something and ingest has one dead
letter; then the assertions run against Prometheus's HTTP API.
"""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SEEDS
from tests.deploy.helpers import settled, stored_count, wait_for, xlen
from wiredesk import dashboard
from wiredesk.testing import ANNOTATED, DLQ, ComposeStack, docker_available, ensure_images

pytestmark = [pytest.mark.docker, pytest.mark.timeout(600)]

JOBS = {"wiredesk-ingest", "wiredesk-dedupe", "wiredesk-store", "wiredesk-api", "redis"}
STAGES = {"ingest", "dedupe", "store"}


def prom(base: str, path: str, **params: str) -> Any:
    query = f"?{urllib.parse.urlencode(params)}" if params else ""
    with urllib.request.urlopen(f"{base}/api/v1/{path}{query}", timeout=10) as response:
        body = json.loads(response.read())
    assert body["status"] == "success", body
    return body["data"]


def instant(base: str, expr: str) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = prom(base, "query", query=expr)["result"]
    return result


@pytest.fixture(scope="module")
def monitored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ComposeStack]:
    ok, reason = docker_available()
    if not ok:
        pytest.skip(reason)
    ensure_images(services=["redis", "ingest", "prometheus"])
    stack = ComposeStack(env={"COMPOSE_PROFILES": "monitoring"})
    inputs: Path = tmp_path_factory.mktemp("replay")
    for seed in SEEDS.glob("*.txt"):
        (inputs / seed.name).write_bytes(seed.read_bytes())
    (inputs / "short.txt").write_text("Too short to be an article.\n", encoding="utf-8")
    inputs.chmod(0o755)  # the replay container's user is not this process's
    for path in inputs.iterdir():
        path.chmod(0o644)
    try:
        stack.up()
        base = stack.prometheus_url
        # One scrape of every service first, so that the counters' zeros are recorded before
        # the replay moves them (the dead-letter alert needs that first sample).
        wait_for(
            lambda: (
                {r["metric"]["job"] for r in instant(base, 'up{job=~"wiredesk-.*|redis"} == 1')}
                == JOBS
            ),
            what="Prometheus's first scrape of every service",
            stack=stack,
            timeout=60,
        )
        stack.replay(inputs)
        url, api = stack.redis_url, stack.api_url
        wait_for(
            lambda: settled(url) and stored_count(api) == xlen(url, ANNOTATED) == 5,
            what="the replay through the stack",
            stack=stack,
            timeout=180,
        )
        assert xlen(url, DLQ) == 1
        # Prometheus has scraped the settled pipeline: the store's counter shows every article.
        wait_for(
            lambda: any(
                float(r["value"][1]) == 5
                for r in instant(base, 'wiredesk_processed_total{stage="store"}')
            ),
            what="a scrape of the settled pipeline",
            stack=stack,
            timeout=60,
        )
        yield stack
    finally:
        stack.down(volumes=True)


def test_prometheus_shows_every_service_up(monitored: ComposeStack) -> None:
    base = monitored.prometheus_url
    targets = prom(base, "targets", state="active")["activeTargets"]
    by_job: dict[str, list[str]] = {}
    for target in targets:
        by_job.setdefault(target["labels"]["job"], []).append(target["health"])
    assert by_job.keys() >= JOBS, by_job
    assert all(health == ["up"] for job, health in by_job.items() if job in JOBS), by_job
    up = {r["metric"]["job"]: r["value"][1] for r in instant(base, 'up{job=~"wiredesk-.*|redis"}')}
    assert up == dict.fromkeys(JOBS, "1")
    ready = {r["metric"]["job"]: r["value"][1] for r in instant(base, "wiredesk_ready")}
    assert ready == dict.fromkeys(JOBS - {"redis"}, "1")


def _concrete(expr: str) -> str:
    """The query as Grafana would send it with every stage selected."""
    return expr.replace("$__rate_interval", "1m").replace("$stage", ".*")


@pytest.mark.parametrize(
    "query",
    [q for panel in dashboard.PANELS for q in panel.queries],
    ids=[f"{panel.title}/{q.legend}" for panel in dashboard.PANELS for q in panel.queries],
)
def test_every_dashboard_query_returns_series_with_its_labels(
    monitored: ComposeStack, query: dashboard.Query
) -> None:
    series = instant(monitored.prometheus_url, _concrete(query.expr))
    assert series, f"no data for {query.expr}"
    for item in series:
        missing = set(query.labels) - item["metric"].keys()
        assert not missing, f"{query.expr}: series {item['metric']} lacks {missing}"
    if "stage" in query.labels:
        stages = {item["metric"]["stage"] for item in series}
        assert stages == STAGES, f"{query.expr}: stages {stages}"


def test_the_rules_judge_the_live_pipeline(monitored: ComposeStack) -> None:
    """The one dead letter fires WiredeskDeadLetters (its first evaluation after the scrape);
    nothing else is even pending on a healthy stack."""
    base = monitored.prometheus_url
    deadline = time.monotonic() + 60
    while True:
        alerts = prom(base, "alerts")["alerts"]
        firing = [a for a in alerts if a["state"] == "firing"]
        if firing or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert [(a["labels"]["alertname"], a["labels"].get("reason")) for a in alerts] == [
        ("WiredeskDeadLetters", "too-short")
    ], alerts
    assert firing

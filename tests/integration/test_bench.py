"""``python -m tools.bench --quick``: every phase runs end to end and reports every section.

Speeds are never asserted: the machine is shared and the numbers are for people, not for CI.
What is asserted is that each section exists and holds positive numbers, so a refactor that
silently breaks a phase (zero stored, no latency samples, empty memory) fails here.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.conftest import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.e2e, pytest.mark.timeout(360)]


def positive(value: Any) -> bool:
    return isinstance(value, int | float) and value > 0


def test_quick_bench_reports_every_section(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, "-m", "tools.bench", "--quick", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=350,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    data = orjson.loads(out.read_bytes())
    assert {
        "meta",
        "corpus",
        "limit",
        "pipeline",
        "latency",
        "memory",
        "growth",
        "cluster",
        "targets",
    } <= set(data)
    single, cluster = data["cluster"]
    assert single["partitions"] == 1
    assert cluster["partitions"] == 3
    assert cluster["ingest_replicas"] == 2
    for row in (single, cluster):
        assert row["articles"] == 100
        assert positive(row["articles_per_s"])
    assert positive(cluster["ratio_to_single_node"])

    assert data["corpus"]["articles"] == 200
    assert positive(data["limit"]["articles_per_s"])

    replicas = sorted(run["dedupe_replicas"] for run in data["pipeline"])
    assert replicas == [1, 2]
    for run in data["pipeline"]:
        phase = run["phase"]
        assert phase["stored"] == phase["articles"] == 200
        assert positive(phase["articles_per_s"])
        assert positive(run["ratio_to_limit"])
        assert run["stage_bound"]["articles_per_s"] <= run["work_bound"]["articles_per_s"]
        assert positive(run["ratio_to_stage_bound"])
        assert run["machine_bound"]["articles_per_s"] < run["work_bound"]["articles_per_s"]
        assert positive(phase["cpu_outside"]["redis"]["cpu_seconds"])
        for stage in ("ingest", "dedupe", "store"):
            assert positive(phase["stages"][stage]["entries_per_s"]), stage
        assert positive(phase["latency_ms"]["p50"])

    runs = data["latency"]["runs"]
    assert [r["fraction"] for r in runs] == [0.25, 0.5, 0.8]
    for run in runs:
        assert run["stored"] == run["articles"]
        assert positive(run["target_rate"])
        for key in ("p50", "p95", "p99"):
            assert positive(run["latency_ms"][key])

    memory = data["memory"]
    for key in (
        "dedupe_state_bytes_per_article",
        "streams_bytes_per_article",
        "ingest_seen_bytes_per_article",
    ):
        assert positive(memory[key]), key
    for service in ("ingest", "dedupe", "store"):
        assert all(positive(proc["rss"]) for proc in memory["rss"][service])

    sizes = data["growth"]["sizes"]
    assert [row["window"] for row in sizes] == [200, 2_000]
    for row in sizes:
        assert row["held_after"] >= row["window"]
        assert positive(row["ms_per_article"])
        assert positive(row["log_bytes_per_record"])
    assert positive(data["growth"]["growth"]["cost_ratio"])

    plot = out.with_suffix(".png")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "matplotlib is not installed" in result.stdout
    else:
        assert plot.stat().st_size > 0

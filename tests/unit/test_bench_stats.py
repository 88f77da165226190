"""The benchmark's arithmetic: percentiles, rates, ratios, growth, profile summaries, options."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from tools.bench.profile import read_collapsed, summarize_stacks
from tools.bench.run import BenchOptions, parse_args, targets
from tools.bench.stats import (
    entry_ms,
    growth,
    iso_to_ms,
    percentile,
    rate,
    ratio,
    span_rate,
    summarize,
)


@pytest.mark.parametrize("q", [0, 1, 25, 50, 95, 99, 100])
def test_percentile_matches_numpy_linear(q: float) -> None:
    values = [float(v) for v in np.random.default_rng(1).exponential(20.0, size=257)]
    assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))


def test_percentile_edges() -> None:
    assert percentile([5.0], 99) == 5.0
    assert percentile([1.0, 2.0], 50) == 1.5
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)
    with pytest.raises(ValueError, match="q must be"):
        percentile([1.0], 101)


def test_summarize() -> None:
    assert summarize([]) == {"n": 0}
    stats = summarize([float(v) for v in range(1, 101)])
    assert stats == {"n": 100, "mean": 50.5, "p50": 50.5, "p95": 95.05, "p99": 99.01, "max": 100.0}


def test_ratio_and_rate() -> None:
    assert ratio(40.0, 100.0) == 0.4
    assert ratio(1.0, 3.0, digits=2) == 0.33
    assert ratio(1.0, 0.0) is None
    assert rate(100, 2.0) == 50.0
    assert rate(0, 2.0) == 0.0
    assert rate(10, 0.0) == 0.0


def test_entry_ids_and_spans() -> None:
    assert entry_ms("1700000000123-7") == 1_700_000_000_123
    assert entry_ms(b"1700000000123-0") == 1_700_000_000_123
    assert span_rate(101, 1000.0, 2000.0) == pytest.approx(100.0)  # 100 intervals in 1 s
    assert span_rate(1, 0.0, 0.0) == 0.0
    assert span_rate(3, 5.0, 5.0) == pytest.approx(2000.0)  # floored at 1 ms, no division by 0
    assert iso_to_ms("1970-01-01T00:00:01.500000+00:00") == pytest.approx(1500.0)


def test_growth() -> None:
    flat = growth({1_000: 1.0, 10_000: 1.1, 100_000: 1.3})
    assert flat == {"cost_ratio": 1.3, "size_ratio": 100.0, "sublinear": True, "within_2x": True}
    linear = growth({1_000: 1.0, 100_000: 100.0})
    assert linear["sublinear"] is False
    assert linear["within_2x"] is False
    assert growth({1_000: 1.0})["cost_ratio"] is None


def test_profile_summary_from_collapsed_stacks() -> None:
    text = (
        'process 1:"python";main (wiredesk/app/cli.py:10);handle (services/dedupe/stage.py:80);'
        "_mulmod (/x/services/dedupe/minhash.py:50) 6\n"
        'process 1:"python";main (wiredesk/app/cli.py:10);handle (services/dedupe/stage.py:82);'
        "execute (/venv/redis/asyncio/client.py:9) 4\n"
        "garbage line\n"
    )
    stacks = read_collapsed(text)
    assert sum(stacks.values()) == 10
    summary = summarize_stacks(Counter(stacks))
    assert summary["samples"] == 10
    assert summary["self"][0] == {"function": "_mulmod (services/dedupe/minhash.py)", "share": 0.6}
    inclusive = {row["function"]: row["share"] for row in summary["project_inclusive"]}
    assert inclusive["handle (services/dedupe/stage.py)"] == 1.0  # lines of one function add up
    assert not any("cli.py" in name for name in inclusive)  # entry frames say nothing


def test_options() -> None:
    options = parse_args(["--growth-sizes", "1k,10k,100_000", "--fractions", "0.5,0.9"])
    assert options.growth_sizes == (1_000, 10_000, 100_000)
    assert options.fractions == (0.5, 0.9)
    quick = parse_args(["--quick", "--skip", "growth"])
    assert quick.quick
    assert quick.articles <= 200
    assert not quick.runs("growth")
    assert quick.runs("limit")
    assert BenchOptions().quickened().growth_sizes == (200, 2_000)
    with pytest.raises(SystemExit):
        parse_args(["--dedupe-replicas", "0"])


def test_targets_are_reported_not_judged() -> None:
    results = {
        "pipeline": [
            {"dedupe_replicas": 1, "ratio_to_limit": 0.5, "phase": {"articles_per_s": 9.0}}
        ],
        "latency": {
            "runs": [
                {"fraction": 0.25, "latency_ms": {"p99": 10.0}},
                {"fraction": 0.5, "latency_ms": {"p99": 20.0}},
            ]
        },
        "growth": {"growth": {"cost_ratio": 1.2}},
        "meta": {"semantic_stage": False},
    }
    out = targets(results)
    assert out["end_to_end_vs_limit"]["measured"] == 0.5
    assert "articles_per_s" not in out  # the 300/s target is for the semantic stage
    assert out["p99_ms_at_50pct"]["measured"] == 20.0
    assert out["dedupe_cost_growth"]["measured"] == 1.2
    semantic = targets({**results, "meta": {"semantic_stage": True}})
    assert semantic["articles_per_s"]["measured"] == 9.0
    assert "end_to_end_vs_limit" not in semantic

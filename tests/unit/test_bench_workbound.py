"""The work-bound limit of ``wiredesk bench`` (tools/bench/workbound.py)."""

from __future__ import annotations

import pytest

from tools.bench.workbound import work_bound


def test_limit_is_cores_over_the_summed_cpu_per_article() -> None:
    # 1 ms + 3 ms of CPU per article on 2 cores: 2 / 0.004 = 500 articles/s
    cpu = {"ingest": {"articles_per_cpu_s": 1000.0}, "dedupe": {"articles_per_cpu_s": 1000 / 3}}
    limit = work_bound(cpu, cores=2)
    assert limit is not None
    assert limit["articles_per_s"] == pytest.approx(500.0)
    assert limit["cpu_ms_per_article"] == pytest.approx(4.0)
    assert limit["share"] == {"ingest": 0.25, "dedupe": 0.75}


def test_more_cores_raise_it_in_proportion() -> None:
    cpu = {"store": {"articles_per_cpu_s": 400.0}}
    one, four = work_bound(cpu, cores=1), work_bound(cpu, cores=4)
    assert one is not None and four is not None
    assert four["articles_per_s"] == pytest.approx(4 * one["articles_per_s"])


@pytest.mark.parametrize("rate", [None, 0.0])
def test_unknown_cpu_gives_no_limit(rate: float | None) -> None:
    cpu = {"ingest": {"articles_per_cpu_s": 800.0}, "store": {"articles_per_cpu_s": rate}}
    assert work_bound(cpu, cores=2) is None
    assert work_bound({}, cores=2) is None

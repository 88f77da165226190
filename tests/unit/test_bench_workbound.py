"""The work-bound limit of ``wiredesk bench`` (tools/bench/workbound.py)."""

from __future__ import annotations

import pytest

from tools.bench.workbound import machine_bound, stage_bound, work_bound


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


def test_one_replica_of_a_heavy_stage_binds_before_the_cores() -> None:
    # dedupe 3 ms, ingest 1 ms: cores allow 500/s, but one dedupe replica only 333/s
    cpu = {"ingest": {"articles_per_cpu_s": 1000.0}, "dedupe": {"articles_per_cpu_s": 1000 / 3}}
    one = stage_bound(cpu, {"dedupe": 1}, cores=2)
    assert one is not None
    assert one["binding"] == "dedupe"
    assert one["articles_per_s"] == pytest.approx(333.3)
    two = stage_bound(cpu, {"dedupe": 2}, cores=2)
    assert two is not None
    assert two["binding"] == "cores"
    assert two["articles_per_s"] == pytest.approx(500.0)
    assert two["stage_caps"]["dedupe"] == pytest.approx(666.7)


def test_replicas_beyond_the_cores_add_nothing() -> None:
    cpu = {"dedupe": {"articles_per_cpu_s": 100.0}}
    capped = stage_bound(cpu, {"dedupe": 8}, cores=2)
    assert capped is not None
    assert capped["stage_caps"]["dedupe"] == pytest.approx(200.0)
    assert stage_bound({"dedupe": {"articles_per_cpu_s": None}}, {"dedupe": 1}, cores=2) is None


def test_the_machine_bound_adds_what_shares_the_cores() -> None:
    # stages 1 ms + Redis 0.25 ms + publisher 0.25 ms of CPU per article on 2 cores: 1,333/s
    cpu = {"ingest": {"articles_per_cpu_s": 1000.0}}
    outside = {"redis": {"articles_per_cpu_s": 4000.0}, "bench": {"articles_per_cpu_s": 4000.0}}
    limit = machine_bound(cpu, outside, cores=2)
    assert limit is not None
    assert limit["articles_per_s"] == pytest.approx(1333.3)
    assert limit["share"] == {"ingest": pytest.approx(0.667), "redis": 0.167, "bench": 0.167}
    assert machine_bound(cpu, {}, cores=2) is None

"""wiredesk.monitoring's pure parts: an entry's age from its id, the pre-created series."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from wiredesk.monitoring import DEAD_LETTER_REASONS, entry_age_s, register_stage_series


def test_an_entry_age_comes_from_the_milliseconds_in_its_id() -> None:
    assert entry_age_s("1000-7", now_ms=4500) == 3.5
    assert entry_age_s("5000-0", now_ms=4500) == 0.0  # a clock behind Redis's is not negative


def test_a_stage_creates_its_dead_letter_series_at_zero() -> None:
    register_stage_series("unit-test-stage")
    for reason in DEAD_LETTER_REASONS:
        value = REGISTRY.get_sample_value(
            "wiredesk_dead_lettered_total", {"stage": "unit-test-stage", "reason": reason}
        )
        assert value == 0.0, reason


def test_a_stage_creates_its_outcome_series_at_zero_so_its_first_burst_has_a_rate() -> None:
    register_stage_series("unit-outcomes", ("stored", "skipped"))
    for outcome in ("stored", "skipped"):
        value = REGISTRY.get_sample_value(
            "wiredesk_processed_total", {"stage": "unit-outcomes", "outcome": outcome}
        )
        assert value == 0.0, outcome
    assert REGISTRY.get_sample_value("wiredesk_failed_total", {"stage": "unit-outcomes"}) == 0.0
    assert REGISTRY.get_sample_value("wiredesk_reclaimed_total", {"stage": "unit-outcomes"}) == 0.0


def test_every_service_stage_declares_the_outcomes_it_counts() -> None:
    """The declared outcomes are the ones the code increments: a stage counting an outcome it
    does not declare would be missing from the throughput panel until its second burst."""
    import re
    from pathlib import Path

    from services.dedupe.partitioned import DedupePartition
    from services.dedupe.stage import DedupeStage
    from services.ingest.stage import IngestStage
    from services.store.stage import StoreStage

    declared = {
        "ingest": set(IngestStage.outcomes),
        "dedupe": set(DedupeStage.outcomes) | set(DedupePartition.outcomes),
        "store": set(StoreStage.outcomes),
    }
    root = Path(__file__).resolve().parents[2] / "services"
    seen = 0
    for service, outcomes in declared.items():
        for source in (root / service).glob("*.py"):
            for call in re.findall(
                r"PROCESSED\.labels\((?:self|core)\.name, ([^)]*)\)", source.read_text()
            ):
                counted = set(re.findall(r'"([^"]+)"', call))
                seen += len(counted)
                assert counted <= outcomes, (source.name, counted - outcomes)
    assert seen >= 5  # the pattern still finds the stages' counters


def test_tracing_settings_are_off_by_default_and_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from wiredesk.tracing import TracingSettings

    monkeypatch.delenv("WIREDESK_TRACING", raising=False)
    assert TracingSettings().tracing is False
    monkeypatch.setenv("WIREDESK_TRACING", "true")
    monkeypatch.setenv("WIREDESK_TRACING_EXPORTER", "console")
    settings = TracingSettings()
    assert settings.tracing is True
    assert settings.tracing_exporter == "console"

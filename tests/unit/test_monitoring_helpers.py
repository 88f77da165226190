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

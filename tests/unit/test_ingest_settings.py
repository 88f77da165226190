"""Ingest settings build the normalization limits, including the zone of zoneless dates."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from services.ingest.normalize import normalize
from services.ingest.settings import IngestSettings
from wiredesk.messages import RawArticle

BODY = (
    "15.12.2024, 12:32\n\n"
    "The central bank raised its main interest rate by half a point on Thursday, its third "
    "increase this year, citing persistent inflation in services and wages."
)


def test_limits_follow_the_settings() -> None:
    limits = IngestSettings(min_words=5, max_body_chars=2000).limits()
    assert (limits.min_words, limits.max_body_chars) == (5, 2000)


def test_zoneless_dates_are_read_in_the_configured_zone() -> None:
    limits = IngestSettings(naive_timezone="Europe/Kyiv").limits()
    article = normalize(RawArticle(id="a", source="s", url="u", body=BODY), limits)
    assert article.published_at == datetime(2024, 12, 15, 10, 32, tzinfo=UTC)


def test_unknown_zone_is_refused_at_start_up() -> None:
    with pytest.raises(ValidationError):
        IngestSettings(naive_timezone="Mars/Olympus")

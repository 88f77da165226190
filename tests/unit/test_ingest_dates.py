"""Date formats that news sites print, all to timezone-aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.ingest.dates import match_date_prefix, parse_date


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-12-15", datetime(2024, 12, 15, tzinfo=UTC)),
        ("2024-12-14T09:30:00Z", datetime(2024, 12, 14, 9, 30, tzinfo=UTC)),
        ("2024-12-14T09:30:00+02:00", datetime(2024, 12, 14, 7, 30, tzinfo=UTC)),
        ("2024-12-14T09:30:00+0200", datetime(2024, 12, 14, 7, 30, tzinfo=UTC)),
        ("2024-12-14 09:30", datetime(2024, 12, 14, 9, 30, tzinfo=UTC)),
        ("15.12.2024, 12:32", datetime(2024, 12, 15, 12, 32, tzinfo=UTC)),
        ("15.12.2024 12:32 UTC+3", datetime(2024, 12, 15, 9, 32, tzinfo=UTC)),
        ("5.3.2024", datetime(2024, 3, 5, tzinfo=UTC)),
        ("Sat, 14 Dec 2024 10:05:00 +0100", datetime(2024, 12, 14, 9, 5, tzinfo=UTC)),
        ("Sat, 14 Dec 2024 10:05:00 GMT", datetime(2024, 12, 14, 10, 5, tzinfo=UTC)),
        ("December 14, 2024", datetime(2024, 12, 14, tzinfo=UTC)),
        ("Dec. 14, 2024 3:05 pm EST", datetime(2024, 12, 14, 20, 5, tzinfo=UTC)),
        ("Sunday, December 15, 2024", datetime(2024, 12, 15, tzinfo=UTC)),
        ("14 December 2024 12:00 GMT", datetime(2024, 12, 14, 12, tzinfo=UTC)),
        ("14th Dec 2024", datetime(2024, 12, 14, tzinfo=UTC)),
    ],
)
def test_common_formats_parse_to_utc(text: str, expected: datetime) -> None:
    parsed = parse_date(text)
    assert parsed == expected
    assert parsed is not None
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "text",
    ["12/10/2024", "31.02.2024", "yesterday", "2024", "December 2024", "15.12.2024 and more"],
)
def test_ambiguous_invalid_or_partial_dates_are_refused(text: str) -> None:
    assert parse_date(text) is None


def test_dates_without_zone_are_read_in_the_given_zone() -> None:
    kyiv = timezone(timedelta(hours=2))
    assert parse_date("15.12.2024, 12:32", naive_tz=kyiv) == datetime(
        2024, 12, 15, 10, 32, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("line", "labelled", "rest"),
    [
        ("date 2024-12-15 Russia has begun", True, "Russia has begun"),
        ("• 15.12.2024, 12:32", False, ""),
        ("Published: 15 December 2024, 09:10 | Updated", True, "Updated"),
        ("Updated on March 3, 2024 at 10:15 am", True, ""),
    ],
)
def test_date_prefix_of_a_line(line: str, labelled: bool, rest: str) -> None:
    found = match_date_prefix(line)
    assert found is not None
    assert found.labelled is labelled
    assert line[found.end :].strip() == rest


def test_a_line_that_does_not_open_with_a_date_has_no_prefix() -> None:
    assert match_date_prefix("— Reuters (@Reuters) December 14, 2024") is None
    assert match_date_prefix("Russia said on December 14, 2024 that") is None

"""Publication dates from the date lines that sites print above or beside a story.

Only explicit, unambiguous formats are accepted (ISO 8601, RFC 2822, ``DD.MM.YYYY``, English
month names): a wrong date is worse than none, because downstream windows and "first seen"
decisions trust it. Slash dates (``12/10/2024``) are refused, since day and month order differs
by country and cannot be told from the string.

Time zones: a date with an offset or a known zone name is converted to UTC. A date without a
zone (``15.12.2024, 12:32``) is read in ``naive_tz`` (UTC unless the caller knows the source's
zone, see ``Limits.naive_tz``); a date without a time is midnight in that zone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from email.utils import parsedate_to_datetime

__all__ = ["DateMatch", "match_date_prefix", "parse_date"]

_MONTHS = {
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}
# Zone abbreviations with one meaning in English-language news; anything else is refused
# rather than guessed (IST, for one, is India, Ireland or Israel).
_ZONES = {
    "z": 0,
    "ut": 0,
    "utc": 0,
    "gmt": 0,
    "wet": 0,
    "bst": 60,
    "cet": 60,
    "cest": 120,
    "eet": 120,
    "eest": 180,
    "msk": 180,
    "est": -300,
    "edt": -240,
    "cst": -360,
    "cdt": -300,
    "mst": -420,
    "mdt": -360,
    "pst": -480,
    "pdt": -420,
}
_MONTH = (
    r"(?P<month>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_WEEKDAY = r"(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+)?"
_TIME = (
    r"(?:(?:,|\s)\s*(?:at\s+)?(?P<hour>\d{1,2})[:.](?P<minute>\d{2})(?::(?P<second>\d{2}))?"
    r"(?:\s*(?P<ampm>[ap]\.?m\.?))?"
    r"(?:\s*(?P<zone>[+-]\d{2}:?\d{2}|(?:utc|gmt)(?:[+-]\d{1,2}(?::?\d{2})?)?|"
    + "|".join(sorted(_ZONES, key=len, reverse=True))
    + r")\b)?)?"
)
_ISO = re.compile(
    r"(?P<iso>\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?"
    r"(?:\s?(?:Z|[+-]\d{2}(?::?\d{2})?))?)?)(?![\d-])",
    re.IGNORECASE,
)
_RFC2822 = re.compile(
    r"(?P<rfc>(?:(?:mon|tue|wed|thu|fri|sat|sun),\s*)?\d{1,2}\s+[a-z]{3}\s+\d{4}\s+"
    r"\d{2}:\d{2}(?::\d{2})?\s+(?:[+-]\d{4}|ut|utc|gmt|[ecmp][sd]t|z))\b",
    re.IGNORECASE,
)
_DOTTED = re.compile(r"(?P<day>\d{1,2})\.(?P<month>\d{1,2})\.(?P<year>\d{4})\b" + _TIME, re.I)
_MONTH_FIRST = re.compile(
    _WEEKDAY + _MONTH + r"\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<year>\d{4})\b" + _TIME,
    re.IGNORECASE,
)
_DAY_FIRST = re.compile(
    _WEEKDAY + r"(?P<day>\d{1,2})(?:st|nd|rd|th)?\s+" + _MONTH + r",?\s+(?P<year>\d{4})\b" + _TIME,
    re.IGNORECASE,
)
_PREFIX = re.compile(
    r"\s*(?:[•·*▪►|-]\s*)?"
    r"(?P<label>(?:(?:date|published|updated|posted|last\s+updated|first\s+published|"
    r"modified|created)(?:\s+(?:on|at))?)\s*:?\s*)?",
    re.IGNORECASE,
)
_TAIL = re.compile(r"\s*(?:[|•·,;–—-]\s*)?")


@dataclass(frozen=True, slots=True)
class DateMatch:
    """A date found at the start of a line: the instant, and where the date text ends."""

    when: datetime
    end: int
    labelled: bool


def _zone_offset(zone: str | None) -> tzinfo | None:
    if not zone:
        return None
    zone = zone.lower().replace(":", "")
    if zone[0] in "+-":
        sign = -1 if zone[0] == "-" else 1
        return timezone(sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5] or 0)))
    for base in ("utc", "gmt"):
        if zone.startswith(base) and len(zone) > len(base):
            rest = zone[len(base) :]
            sign = -1 if rest[0] == "-" else 1
            digits = rest[1:]
            hours, minutes = (digits[:-2], digits[-2:]) if len(digits) > 2 else (digits, "0")
            return timezone(sign * timedelta(hours=int(hours), minutes=int(minutes)))
    minutes_east = _ZONES.get(zone)
    return None if minutes_east is None else timezone(timedelta(minutes=minutes_east))


def _build(groups: dict[str, str | None], month: int, naive_tz: tzinfo) -> datetime | None:
    zone = _zone_offset(groups.get("zone"))
    hour = int(groups.get("hour") or 0)
    ampm = (groups.get("ampm") or "").replace(".", "").lower()
    if ampm == "pm" and hour < 12:
        hour += 12
    elif ampm == "am" and hour == 12:
        hour = 0
    try:
        when = datetime(
            int(groups["year"] or 0),
            month,
            int(groups["day"] or 0),
            hour,
            int(groups.get("minute") or 0),
            int(groups.get("second") or 0),
            tzinfo=zone or naive_tz,
        )
    except ValueError:
        return None
    return when.astimezone(UTC)


def _from_iso(value: str, naive_tz: tzinfo) -> datetime | None:
    value = value.replace(" ", "T", 1) if len(value) > 10 else value
    value = re.sub(r"T(\S+?)\s+([+-])", r"T\1\2", value)
    try:
        parsed = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=naive_tz)
    return parsed.astimezone(UTC)


def _from_rfc2822(value: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _match_at(text: str, pos: int, naive_tz: tzinfo) -> tuple[datetime, int] | None:
    """The date that starts exactly at ``pos``, trying the most specific formats first."""
    if match := _RFC2822.match(text, pos):
        when = _from_rfc2822(match.group("rfc"))
        if when:
            return when, match.end()
    if match := _ISO.match(text, pos):
        when = _from_iso(match.group("iso"), naive_tz)
        return (when, match.end()) if when else None
    if match := _DOTTED.match(text, pos):
        groups = match.groupdict()
        when = _build(groups, int(groups["month"] or 0), naive_tz)
        return (when, match.end()) if when else None
    for pattern in (_MONTH_FIRST, _DAY_FIRST):
        if match := pattern.match(text, pos):
            groups = match.groupdict()
            month = _MONTHS[(groups["month"] or "")[:3].lower()]
            when = _build(groups, month, naive_tz)
            return (when, match.end()) if when else None
    return None


def parse_date(value: str, *, naive_tz: tzinfo = UTC) -> datetime | None:
    """The instant a whole string names, in UTC, or None if it is not exactly one date."""
    value = value.strip()
    found = _match_at(value, 0, naive_tz)
    if found is None or value[found[1] :].strip(" .,"):
        return None
    return found[0]


def match_date_prefix(line: str, *, naive_tz: tzinfo = UTC) -> DateMatch | None:
    """A date (optionally after a bullet or a label such as ``Published:``) opening a line.

    The caller decides by position whether that is the article's date line; this function
    only knows the shape.
    """
    prefix = _PREFIX.match(line)
    start = prefix.end() if prefix else 0
    found = _match_at(line, start, naive_tz)
    if found is None:
        return None
    when, end = found
    tail = _TAIL.match(line, end)
    end = tail.end() if tail else end
    return DateMatch(when=when, end=end, labelled=bool(prefix and prefix.group("label")))

"""How the store writes times and stream positions so that text comparison orders them.

Both backends keep times as ISO-8601 text in UTC (``2024-12-15T10:00:00.123456+00:00``) rather
than ``TIMESTAMPTZ``: one representation for SQLite and PostgreSQL means one set of queries and
byte-identical answers from either backend. Every value goes through :func:`iso`, which always
emits ``+00:00``; a time without microseconds sorts before one with, because ``+`` < ``.`` in
ASCII, so lexicographic order is chronological order.
"""

from __future__ import annotations

from datetime import UTC, datetime

from wiredesk.streaming import id_ms, id_parts


def iso(value: datetime) -> str:
    """UTC ISO-8601 text; a naive datetime is taken to be UTC already."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


def iso_or_none(value: datetime | None) -> str | None:
    return None if value is None else iso(value)


def now_iso() -> str:
    return iso(datetime.now(UTC))


def sortable_entry_id(entry_id: str) -> str:
    """Stream ids compare as numbers; pad them so that text comparison agrees."""
    ms, seq = id_parts(entry_id)
    return f"{ms:015d}-{seq:08d}"


def entry_time(entry_id: str) -> str:
    """When a stream entry was added (its id's milliseconds), as :func:`iso` text: the moment
    the producer's atomic step committed, the same on every redelivery of the entry."""
    return iso(datetime.fromtimestamp(id_ms(entry_id) / 1000, UTC))

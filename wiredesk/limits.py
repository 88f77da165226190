"""Bounds on what may cross a stage boundary, as pydantic types the message models reuse.

Every stage validates its input with the same models (:mod:`wiredesk.messages`), so a limit
declared here holds at every boundary, whoever produced the entry: ingest, a replay, a buggy
or hostile producer writing straight into ``articles:normalized``. What the limits prevent:

- dates a database or ``astimezone`` cannot represent (``9999-12-31T23:59:59-05:00`` overflows
  when converted to UTC; ``0001-01-01T00:00:00+05:00`` underflows), and dates far in the future
  that would pin a story first in ``/stories`` forever (``WIREDESK_MAX_FUTURE_SKEW_S``);
- numbers that cannot be stored or served: NaN and infinities (JSON cannot carry them back,
  SQLite refuses NaN), integers past a signed 64-bit column, negative counts;
- unbounded identifiers and titles (a 1.5 MB title made every ``/stories`` page 1.5 MB);
- terminal control sequences in text that operators and consumers render: C0/C1 control
  characters (except newline and tab) and ANSI CSI/OSC escape sequences are removed from display
  text, and refused in identifiers (an id is a key: silently changing it would split records).

Tightening these is compatible with the v1 schemas: a message that fails them was garbage that
the stages used to crash or stall on (see docs/messages.md, "Limits").
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator, Field

MIN_YEAR = 1900
MAX_YEAR = 2200
DEFAULT_MAX_FUTURE_SKEW_S = 24 * 3600
FUTURE_SKEW_ENV = "WIREDESK_MAX_FUTURE_SKEW_S"

MAX_ID_CHARS = 200
MAX_SOURCE_CHARS = 200
MAX_URL_CHARS = 2048
MAX_TITLE_CHARS = 1000
MAX_SHORT_TEXT_CHARS = 500
MAX_COUNT = 2**31 - 1

# ESC [ ... final byte (CSI), ESC ] ... BEL or ESC \ (OSC), other two-byte ESC sequences,
# then any single C0 control except \t and \n, DEL, and C1 controls (U+0080-U+009F, which
# include the 8-bit CSI U+009B that some terminals honour).
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[@-Z\\-_]"
    r"|[\x00-\x08\x0b-\x1f\x7f-\x9f]"
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def strip_controls(text: str) -> str:
    """``text`` without terminal escape sequences and control characters (``\\n``, ``\\t`` kept).

    ``\\r`` goes too: alone it lets a line overwrite itself on a terminal.
    """
    if not _CONTROL.search(text):  # the common case: one scan, no copy
        return text
    return _ESCAPES.sub("", text)


def _no_controls(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


def max_future_skew() -> timedelta:
    """How far in the future a date may be (``WIREDESK_MAX_FUTURE_SKEW_S``, default one day).

    Read from the environment at validation time because the message models are shared by
    every service and the CLI, which do not all build the same settings object.
    """
    raw = os.environ.get(FUTURE_SKEW_ENV, "")
    try:
        seconds = int(raw) if raw else DEFAULT_MAX_FUTURE_SKEW_S
    except ValueError:
        seconds = DEFAULT_MAX_FUTURE_SKEW_S
    return timedelta(seconds=max(seconds, 0))


def as_utc(value: datetime) -> datetime:
    """A time without a zone is read as UTC, and carries the zone from here on.

    The published JSON Schemas say ``format: date-time`` (RFC 3339, where the offset is
    mandatory), so a zoneless time passed through would be emitted without an offset and fail
    the pipeline's own schemas in every strict validator (Ajv with ajv-formats, jsonschema with
    a format checker); naive and aware times also cannot be compared. Reading it as UTC, at the
    wire boundary (every message model), keeps what a producer meant in the usual case (servers
    log UTC) and makes every emitted time carry ``Z`` or its offset.
    """
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def check_date(value: datetime) -> datetime:
    """A date every backend can store and every stage can convert to UTC, not far ahead."""
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(f"year {value.year} is outside {MIN_YEAR}..{MAX_YEAR}")
    aware = as_utc(value)
    limit = datetime.now(UTC) + max_future_skew()
    if aware > limit:
        raise ValueError(
            f"{value.isoformat()} is more than {FUTURE_SKEW_ENV}="
            f"{int(max_future_skew().total_seconds())} s in the future"
        )
    return aware


UtcDatetime = Annotated[datetime, AfterValidator(as_utc)]
"""Any time on the wire: a zoneless one is read as UTC (:func:`as_utc`)."""

SaneDatetime = Annotated[datetime, AfterValidator(check_date)]
"""A date in ``MIN_YEAR..MAX_YEAR`` and at most the configured skew ahead of now; zoneless is
read as UTC."""

Identifier = Annotated[
    str, Field(min_length=1, max_length=MAX_ID_CHARS), AfterValidator(_no_controls)
]
"""An article or story id: bounded, no control characters (refused, not rewritten)."""

SourceName = Annotated[
    str, Field(min_length=1, max_length=MAX_SOURCE_CHARS), AfterValidator(_no_controls)
]

Locator = Annotated[str, Field(max_length=MAX_URL_CHARS), AfterValidator(strip_controls)]

Title = Annotated[str, Field(max_length=MAX_TITLE_CHARS), AfterValidator(strip_controls)]

ShortText = Annotated[str, Field(max_length=MAX_SHORT_TEXT_CHARS), AfterValidator(strip_controls)]
"""Bylines, datelines, rule codes: shown to people, short."""

DisplayText = Annotated[str, AfterValidator(strip_controls)]
"""Text shown to people whose size the message limit bounds (bodies, stripped pieces)."""

Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]

FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]

"""Pure normalization: a raw document in, clean text and metadata out. No I/O.

This is the first pass (Unicode NFC, whitespace, date line, title); it is deliberately
conservative: it removes only what it can name, so no news sentence is lost.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime

from wiredesk.messages import Article, RawArticle, Stripped

_WS = re.compile(r"[ \t\u00a0\u2000-\u200b\u202f\u205f\u3000]+")
_BLANKS = re.compile(r"\n{2,}")
_DATE_LINE = re.compile(
    r"^\s*(?:[•·*-]\s*)?(?:date\s+)?"
    r"(?P<date>\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?(?:Z|[+-]\d{2}:?\d{2})?)?"
    r"|\d{1,2}\.\d{1,2}\.\d{4}(?:,?\s+\d{1,2}:\d{2})?)\s*",
    re.IGNORECASE,
)
_QUOTES = str.maketrans(
    {
        "‘": "'",
        "’": "'",
        "‚": "'",
        "‛": "'",
        "“": '"',
        "”": '"',
        "„": '"',
        "–": "-",
        "—": "-",
        "‒": "-",
        "―": "-",
        "−": "-",
    }
)
_TITLE_MAX = 140


class NormalizationError(ValueError):
    """The document cannot become an article (empty, too short, too long)."""

    def __init__(self, reason: str, error: str) -> None:
        super().__init__(f"{reason}: {error}")
        self.reason = reason
        self.error = error


@dataclass(slots=True)
class Limits:
    min_words: int = 20
    max_body_chars: int = 500_000


@dataclass(slots=True)
class _Draft:
    paragraphs: list[str]
    stripped: list[Stripped] = field(default_factory=list)
    published_at: datetime | None = None


def clean_whitespace(text: str) -> list[str]:
    """NFC, unified line ends, collapsed spaces; returns non-empty paragraphs (lines)."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    lines = (_WS.sub(" ", line).strip() for line in text.split("\n"))
    return [line for line in lines if line]


def parse_date(value: str) -> datetime | None:
    """Dates of the forms ISO 8601 and ``DD.MM.YYYY[, HH:MM]``; naive ones are taken as UTC."""
    value = value.strip()
    for fmt in ("%d.%m.%Y, %H:%M", "%d.%m.%Y %H:%M", "%d.%m.%Y"):
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _take_leading_dates(draft: _Draft) -> None:
    """A date at the start of the first lines is metadata, not text."""
    for index, line in enumerate(draft.paragraphs[:6]):
        match = _DATE_LINE.match(line)
        if not match:
            continue
        when = parse_date(match.group("date"))
        if when is None:
            continue
        draft.published_at = draft.published_at or when
        draft.stripped.append(Stripped(kind="date-line", text=match.group(0).strip()))
        rest = line[match.end() :].strip()
        if rest:
            draft.paragraphs[index] = rest
        else:
            del draft.paragraphs[index]
        return


def fingerprint(text: str) -> str:
    """The form of the text that exact-duplicate detection hashes: case, quotes, dashes and
    spacing differences between syndicated copies must not make two copies look different."""
    folded = unicodedata.normalize("NFKC", text).translate(_QUOTES).casefold()
    return " ".join(folded.split())


def make_title(explicit: str | None, paragraphs: list[str]) -> str:
    if explicit and explicit.strip():
        return " ".join(explicit.split())
    first = paragraphs[0] if paragraphs else ""
    sentence = re.split(r"(?<=[.!?])\s", first, maxsplit=1)[0]
    if len(sentence) <= _TITLE_MAX:
        return sentence
    return sentence[: _TITLE_MAX - 1].rsplit(" ", 1)[0] + "…"


def normalize(raw: RawArticle, limits: Limits | None = None) -> Article:
    """Clean one raw document into an :class:`Article`, or raise NormalizationError."""
    limits = limits or Limits()
    if len(raw.body) > limits.max_body_chars:
        raise NormalizationError(
            "too-large", f"{len(raw.body)} chars > limit of {limits.max_body_chars}"
        )
    draft = _Draft(paragraphs=clean_whitespace(raw.body))
    _take_leading_dates(draft)
    text = "\n\n".join(draft.paragraphs)
    words = len(text.split())
    if words == 0:
        raise NormalizationError("empty", "no text left after normalization")
    if words < limits.min_words:
        raise NormalizationError("too-short", f"{words} words < minimum of {limits.min_words}")
    return Article(
        id=raw.id,
        source=raw.source,
        url=raw.url,
        received_at=raw.received_at,
        title=make_title(raw.title, draft.paragraphs),
        published_at=draft.published_at,
        lang="und",  # language detection arrives with full normalization
        text=text,
        text_sha256=hashlib.sha256(fingerprint(text).encode()).hexdigest(),
        word_count=words,
        stripped=draft.stripped,
    )

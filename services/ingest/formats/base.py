"""What every format adapter returns, and the helpers they share.

An adapter turns one document (bytes, as a producer received it) into items: ``raw.v2``
messages ready for ``articles:raw``, or :class:`Rejected` values for what can never become an
article (an invalid ninjs document, a photo, an item without text). A document can hold several
items (a feed, a NewsML-G2 News Message), so adapters return lists.
"""

from __future__ import annotations

import email.utils
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.ingest.dates import parse_date
from wiredesk.messages import PubStatus, RawArticle, Subject

__all__ = [
    "FIRST_VERSION",
    "Parsed",
    "Rejected",
    "item_id",
    "media_topic",
    "parse_when",
    "pub_status",
]


@dataclass(frozen=True, slots=True)
class Rejected:
    """A document (or one item of it) that cannot become an article, and why.

    ``reason`` is a dead-letter reason code (docs/messages.md); ``original`` is the untouched
    document, so the dead letter can be replayed once the cause is fixed.
    """

    reason: str
    error: str
    locator: str
    original: bytes


FIRST_VERSION = "1"
"""The version of an item whose provider states none: NewsML-G2's own default; ninjs and
feeds give no rule, so the first sight of a guid is its version 1 (the poller numbers the
changes it sees after that)."""

Parsed = RawArticle | Rejected
"""What adapters return per item: a raw message (raw.v2 for wire formats, raw.v1 for text,
HTML and JSONL) or a rejection."""


def item_id(source: str, guid: str | None, version: str | None, locator: str, body: str) -> str:
    """Stable message id: the provider's guid + version where given (so the same version
    replayed is recognised, and a new version is a new message), else source + locator + body."""
    if guid:
        key = "\x1f".join((source, guid, version or ""))
    else:
        key = "\x1f".join((source, locator, body))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def parse_when(value: Any) -> datetime | None:
    """An ISO-8601 (or RFC 822) timestamp from a provider; UTC when it has no zone."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    when: datetime | None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)  # RSS writes RFC 822 dates
        except (TypeError, ValueError):
            when = parse_date(text, naive_tz=UTC)
    if when is None:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


_STATUS: dict[str, PubStatus] = {
    "usable": "usable",
    "withheld": "withheld",
    "canceled": "canceled",
    "cancelled": "canceled",
}


def pub_status(value: Any) -> PubStatus:
    """ninjs ``pubstatus`` or NewsML-G2 ``stat:usable`` qcode -> one of the three statuses."""
    if not isinstance(value, str):
        return "usable"
    word = value.rsplit(":", 1)[-1].strip().lower()
    return _STATUS.get(word, "usable")


_MEDTOP_URIS = (
    "http://cv.iptc.org/newscodes/mediatopic/",
    "https://cv.iptc.org/newscodes/mediatopic/",
)


def media_topic(code: str | None, name: str | None) -> Subject | None:
    """A subject, with IPTC Media Topic URIs written as their ``medtop:`` qcode."""
    if code:
        for prefix in _MEDTOP_URIS:
            if code.startswith(prefix):
                code = "medtop:" + code[len(prefix) :].strip("/")
                break
    code = code.strip() if code else None
    name = " ".join(name.split()) if name else None
    if not code and not name:
        return None
    return Subject(code=code or None, name=name or None)

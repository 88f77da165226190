"""Publishers' feeds: RSS 2.0 and Atom through feedparser, JSON Feed 1.x read directly.

feedparser (maintained, BSD) is the reference parser for the XML feed dialects: it reads RSS
``content:encoded`` and ``guid``, Atom ``content``/``id``/``updated``, normalizes dates and
sanitizes HTML. It does not read JSON Feed (6.0), which is a small JSON document with a public
spec (jsonfeed.org/version/1.1), so that one is mapped here field by field.

Each entry becomes one ``raw.v2`` item: ``guid`` is the entry's id (RSS ``guid``, Atom ``id``,
JSON Feed ``id``), falling back to its link; the body is the full content where the feed has
it, else the summary. ``original_ref`` points at the feed and the entry (``feed#guid``); the
feed document is not copied into every item.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime
from time import struct_time
from typing import Any

import feedparser

from services.ingest.formats.base import FIRST_VERSION, Parsed, Rejected, item_id, parse_when
from wiredesk.messages import RawArticleV2, Subject

__all__ = ["is_json_feed", "parse_json_feed", "parse_xml_feed"]

JSON_FEED_PREFIX = "https://jsonfeed.org/version/"


def _when(parsed: struct_time | None) -> datetime | None:
    if parsed is None:
        return None
    return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)


def _content(entry: Any) -> tuple[str, str] | None:
    for content in entry.get("content") or []:
        if content.get("value"):
            kind = "text/plain" if content.get("type") == "text/plain" else "text/html"
            return kind, str(content["value"])
    if entry.get("summary"):
        detail = entry.get("summary_detail") or {}
        kind = "text/plain" if detail.get("type") == "text/plain" else "text/html"
        return kind, str(entry["summary"])
    return None


def parse_xml_feed(data: bytes, *, source: str, locator: str) -> list[Parsed]:
    """RSS or Atom -> one item per entry. A feed feedparser cannot read at all is rejected."""
    feed = feedparser.parse(data)
    version = str(feed.get("version") or "")
    if not feed.entries:
        if feed.get("bozo") and not version:
            error = feed.get("bozo_exception")
            return [Rejected("invalid-feed", f"not a readable feed: {error}", locator, data)]
        return []
    kind = "atom" if version.startswith("atom") else "rss"
    meta = feed.get("feed", {})
    language = meta.get("language")
    provider = meta.get("title")
    out: list[Parsed] = []
    for number, entry in enumerate(feed.entries, start=1):
        guid = entry.get("id") or entry.get("link")
        item_locator = f"{locator}#{guid or number}"
        found = _content(entry)
        if found is None:
            out.append(
                Rejected("empty", "feed entry has neither content nor summary", item_locator, data)
            )
            continue
        content_type, body = found
        tags = [t.get("term") for t in entry.get("tags") or [] if t.get("term")]
        out.append(
            RawArticleV2(
                id=item_id(source, guid, FIRST_VERSION, item_locator, body),
                source=source,
                url=entry.get("link") or item_locator,
                content_type=content_type,
                title=entry.get("title") or None,
                body=body,
                guid=guid,
                version=FIRST_VERSION,
                version_created=_when(
                    dict.get(entry, "updated_parsed") or dict.get(entry, "published_parsed")
                ),
                language=(entry.get("content") or [{}])[0].get("language") or language,
                byline=entry.get("author") or None,
                subjects=[Subject(name=str(tag)) for tag in tags],
                provider=provider,
                format=kind,
                original_type="application/atom+xml" if kind == "atom" else "application/rss+xml",
                original_ref=item_locator,
            )
        )
    return out


def is_json_feed(doc: Any) -> bool:
    return isinstance(doc, dict) and str(doc.get("version", "")).startswith(JSON_FEED_PREFIX)


def parse_json_feed(doc: dict[str, Any], *, data: bytes, source: str, locator: str) -> list[Parsed]:
    """JSON Feed 1.0/1.1 -> one item per entry of ``items``."""
    items = doc.get("items")
    if not isinstance(items, list):
        return [Rejected("invalid-feed", "JSON Feed without an 'items' list", locator, data)]
    out: list[Parsed] = []
    for number, entry in enumerate(items, start=1):
        if not isinstance(entry, dict) or entry.get("id") in (None, ""):
            out.append(
                Rejected(
                    "invalid-feed",
                    f"JSON Feed item {number} has no 'id'",
                    f"{locator}#{number}",
                    data,
                )
            )
            continue
        guid = str(entry["id"])
        item_locator = f"{locator}#{guid}"
        if entry.get("content_html"):
            content_type, body = "text/html", str(entry["content_html"])
        elif entry.get("content_text"):
            content_type, body = "text/plain", str(entry["content_text"])
        elif entry.get("summary"):
            content_type, body = "text/plain", str(entry["summary"])
        else:
            out.append(Rejected("empty", "JSON Feed item has no content", item_locator, data))
            continue
        authors = entry.get("authors") or ([entry["author"]] if entry.get("author") else [])
        names = [str(a.get("name")) for a in authors if isinstance(a, dict) and a.get("name")]
        out.append(
            RawArticleV2(
                id=item_id(source, guid, FIRST_VERSION, item_locator, body),
                source=source,
                url=str(entry.get("url") or item_locator),
                content_type=content_type,
                title=entry.get("title") or None,
                body=body,
                guid=guid,
                version=FIRST_VERSION,
                version_created=parse_when(
                    entry.get("date_modified") or entry.get("date_published")
                ),
                language=entry.get("language") or doc.get("language"),
                byline=", ".join(names) or None,
                subjects=[Subject(name=str(tag)) for tag in entry.get("tags") or []],
                provider=doc.get("title"),
                format="jsonfeed",
                original_type="application/feed+json",
                original_ref=item_locator,
            )
        )
    return out

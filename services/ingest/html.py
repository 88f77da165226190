"""Main-content extraction for ``text/html`` bodies.

trafilatura (Barbaresi 2021, Apache-2.0) scores the DOM for the article body and drops
navigation, footers, scripts, styles and comments; it also reads title, author, canonical URL
and publication date from the page's metadata (OpenGraph, JSON-LD, ``<meta>``), which are more
reliable than anything guessed from the text. Its output still goes through the text chrome
classifier, because share bars and teasers often sit inside the ``<article>`` element.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

import trafilatura

from services.ingest.dates import parse_date

__all__ = ["HtmlDocument", "extract_html"]

_DATE_PARAMS: dict[str, Any] = {
    "outputformat": "%Y-%m-%dT%H:%M:%S%z",
    "extensive_search": False,  # only metadata and markup: text-guessed dates are often wrong
    "original_date": True,
}


@dataclass(frozen=True, slots=True)
class HtmlDocument:
    text: str
    title: str | None
    author: str | None
    url: str | None
    published_at: datetime | None


def _parse_meta_date(value: str | None, naive_tz: tzinfo) -> datetime | None:
    if not value:
        return None
    when = parse_date(value, naive_tz=naive_tz)
    if when is None:
        return None
    # htmldate prints "+0000" for a date that had no time or zone; that is midnight local
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def extract_html(html: str, *, url: str | None = None, naive_tz: tzinfo = UTC) -> HtmlDocument:
    """The article's paragraphs (one per line) and its metadata; empty text if none found."""
    document = trafilatura.bare_extraction(
        html,
        url=url,
        fast=True,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        include_images=False,
        include_links=False,
        date_extraction_params=_DATE_PARAMS,
    )
    if document is None or isinstance(document, dict):
        return HtmlDocument(text="", title=None, author=None, url=None, published_at=None)
    return HtmlDocument(
        text=document.text or "",
        title=document.title or None,
        author=document.author or None,
        url=document.url or None,
        published_at=_parse_meta_date(document.date, naive_tz),
    )

"""Main-content extraction for ``text/html`` bodies.

trafilatura (Barbaresi 2021, Apache-2.0) scores the DOM for the article body and drops
navigation, footers, scripts, styles and comments; it also reads title, author, canonical URL
and publication date from the page's metadata (OpenGraph, JSON-LD, ``<meta>``), which are more
reliable than anything guessed from the text. Its output still goes through the text chrome
classifier, because share bars and teasers often sit inside the ``<article>`` element.

No page is given up on after one try. When the fast pass finds no text, the same page goes
through trafilatura's slower paths in order (:data:`EXTRACTORS`): its fallback extractors
(readability-lxml's and jusText's algorithms, built in), then its recall-oriented mode, then
its baseline (JSON-LD ``articleBody``, ``<article>``, paragraphs), then the whole page's text.
The first that yields text wins and is named in ``HtmlDocument.extractor``; if none does, the
dead letter says that all of them gave up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

import trafilatura

from services.ingest.dates import parse_date

__all__ = ["EXTRACTORS", "HtmlDocument", "extract_html"]

EXTRACTORS = (
    "trafilatura-fast",
    "trafilatura-fallbacks",
    "trafilatura-recall",
    "trafilatura-baseline",
    "whole-page",
)
"""The extraction passes, in the order a page goes through them until one yields text."""

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
    extractor: str | None = None
    """The pass of :data:`EXTRACTORS` that produced ``text``; None when all gave up."""


def _parse_meta_date(value: str | None, naive_tz: tzinfo) -> datetime | None:
    if not value:
        return None
    when = parse_date(value, naive_tz=naive_tz)
    if when is None:
        return None
    # htmldate prints "+0000" for a date that had no time or zone; that is midnight local
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _bare(html: str, url: str | None, **options: Any) -> Any:
    document = trafilatura.bare_extraction(
        html,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        include_images=False,
        include_links=False,
        date_extraction_params=_DATE_PARAMS,
        **options,
    )
    if document is None or isinstance(document, dict):
        return None
    return document


def _fallback_text(html: str, url: str | None) -> tuple[str, str | None]:
    """Text from the slower passes, and which pass found it ("" and None if none did)."""
    for name, options in (
        ("trafilatura-fallbacks", {"fast": False}),
        ("trafilatura-recall", {"fast": False, "favor_recall": True}),
    ):
        document = _bare(html, url, **options)
        if document is not None and (document.text or "").strip():
            return str(document.text), name
    _, text, _ = trafilatura.baseline(html)
    if text and text.strip():
        return text, "trafilatura-baseline"
    text = trafilatura.html2txt(html)
    if text and text.strip():
        return text, "whole-page"
    return "", None


def extract_html(html: str, *, url: str | None = None, naive_tz: tzinfo = UTC) -> HtmlDocument:
    """The article's paragraphs (one per line) and its metadata; empty text if none found."""
    document = _bare(html, url, fast=True)
    text = (document.text or "") if document is not None else ""
    extractor: str | None = "trafilatura-fast"
    if not text.strip():
        text, extractor = _fallback_text(html, url)
    if document is None:
        return HtmlDocument(
            text=text, title=None, author=None, url=None, published_at=None, extractor=extractor
        )
    return HtmlDocument(
        text=text,
        title=document.title or None,
        author=document.author or None,
        url=document.url or None,
        published_at=_parse_meta_date(document.date, naive_tz),
        extractor=extractor,
    )

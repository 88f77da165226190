"""Format adapters: any document a producer receives -> ``raw`` messages, by content.

:func:`parse_document` sniffs what a document is from its bytes (the file name only breaks
ties between plain text and HTML), then hands it to that format's module:

==================  ===========================================  ==================
format              recognised by                                module
==================  ===========================================  ==================
ninjs 1.x/2.x/3.x   JSON object with ``uri`` and ninjs keys      :mod:`.ninjs`
JSON Feed 1.x       JSON object, ``version`` jsonfeed.org        :mod:`.feeds`
raw.v1 / raw.v2     JSON object with ``"schema": "raw.v*"``      :mod:`.plain`
JSONL               several lines, each a JSON object            :mod:`.plain`
NewsML-G2           XML root ``newsItem``/``newsMessage``        :mod:`.newsml`
RSS 2.0 / Atom      XML root ``rss``/``RDF``/``feed``            :mod:`.feeds`
HTML                ``<html``/``<body``/doctype, or ``.html``    :mod:`.plain`
plain text          anything else with a text suffix             :mod:`.plain`
==================  ===========================================  ==================
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import orjson
from lxml import etree

from services.ingest.formats.base import Parsed, Rejected
from services.ingest.formats.feeds import is_json_feed, parse_json_feed, parse_xml_feed
from services.ingest.formats.newsml import ROOTS as NEWSML_ROOTS
from services.ingest.formats.newsml import parse_newsml, xml_parser
from services.ingest.formats.ninjs import is_ninjs, parse_ninjs
from services.ingest.formats.plain import JsonlError, parse_html, parse_jsonl, parse_text
from wiredesk.messages import RawArticle, RawArticleV2

__all__ = [
    "TEXT_SUFFIXES",
    "DocumentError",
    "Parsed",
    "Rejected",
    "parse_document",
    "sniff",
]

TEXT_SUFFIXES = (".txt", ".text")
HTML_SUFFIXES = (".html", ".htm")
STRUCTURED_SUFFIXES = (".json", ".jsonl", ".xml", ".rss", ".atom")
_HTML_MARKS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<div", b"<p>", b"<article")
_FEED_ROOTS = frozenset({"rss", "RDF", "feed"})


class DocumentError(ValueError):
    """A document no adapter reads (unknown format, broken JSONL): the producer must fix it."""


def _xml_root(data: bytes) -> str | None:
    """The local name of the document's first element, or None if it is not XML."""
    try:
        for _, element in etree.iterparse(
            io.BytesIO(data),
            events=("start",),
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            recover=False,
        ):
            return etree.QName(element).localname
    except etree.XMLSyntaxError:
        return None
    return None


def _sniff_json(head: bytes) -> str:
    try:
        doc = orjson.loads(head)
    except orjson.JSONDecodeError:
        return "jsonl" if b"\n" in head.strip() else "unknown"
    if is_json_feed(doc):
        return "jsonfeed"
    if is_ninjs(doc):
        return "ninjs"
    if isinstance(doc, dict) and str(doc.get("schema", "")).startswith("raw."):
        return "raw-json"
    return "unknown"


def _sniff_markup(head: bytes, suffix: str) -> str:
    root = _xml_root(head)
    if root in NEWSML_ROOTS:
        return "newsml"
    if root in _FEED_ROOTS:
        return "feed"
    lowered = head[:4096].lower()
    if root == "html" or suffix in HTML_SUFFIXES or any(m in lowered for m in _HTML_MARKS):
        return "html"
    if root is None and suffix in TEXT_SUFFIXES:
        return "text"
    return "unknown"


def sniff(data: bytes, name: str = "") -> str:
    """What the document is: ``ninjs``, ``jsonfeed``, ``raw-json``, ``jsonl``, ``newsml``,
    ``feed``, ``html``, ``text`` or ``unknown`` (content first; the suffix breaks ties)."""
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    suffix = name[name.rfind(".") :].lower() if "." in name else ""
    if suffix == ".jsonl":
        return "jsonl"
    if head[:1] in (b"{", b"["):
        return _sniff_json(head)
    if head[:1] == b"<":
        return _sniff_markup(head, suffix)
    if suffix in HTML_SUFFIXES:
        return "html"
    return "text" if suffix in TEXT_SUFFIXES else "unknown"


def _json(data: bytes) -> Any:
    return orjson.loads(data.lstrip(b"\xef\xbb\xbf"))


def _newsml(data: bytes, source: str, locator: str) -> list[Parsed]:
    try:
        root = etree.fromstring(data, xml_parser())
    except etree.XMLSyntaxError as exc:
        return [Rejected("invalid-xml", f"NewsML-G2: {exc}", locator, data)]
    return parse_newsml(root, data=data, source=source, locator=locator)


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


_ADAPTERS: dict[str, Callable[[bytes, str, str], list[Parsed]]] = {
    "ninjs": lambda d, s, loc: parse_ninjs(_json(d), data=d, source=s, locator=loc),
    "jsonfeed": lambda d, s, loc: parse_json_feed(_json(d), data=d, source=s, locator=loc),
    "raw-json": lambda d, s, loc: parse_jsonl(d.replace(b"\n", b" "), source=s, name=loc),
    "jsonl": lambda d, s, loc: parse_jsonl(d, source=s, name=loc),
    "newsml": _newsml,
    "feed": lambda d, s, loc: parse_xml_feed(d, source=s, locator=loc),
    "html": lambda d, s, loc: [parse_html(_text(d), source=s, locator=loc)],
    "text": lambda d, s, loc: [parse_text(_text(d), source=s, locator=loc)],
}


def parse_document(data: bytes, *, source: str, locator: str, name: str = "") -> list[Parsed]:
    """Every item of one document, as raw messages or rejections.

    Raises :class:`DocumentError` for a document that is no known format at all, or a JSONL
    file with a broken line (so a producer learns at once that it sends the wrong thing).
    """
    kind = sniff(data, name or locator)
    adapter = _ADAPTERS.get(kind)
    if adapter is None:
        raise DocumentError(
            f"{name or locator}: not a format wiredesk reads (ninjs, NewsML-G2, RSS, Atom, "
            "JSON Feed, raw.v1/raw.v2 JSON, JSONL, HTML, or .txt text)"
        )
    try:
        return adapter(data, source, locator)
    except JsonlError as exc:
        raise DocumentError(str(exc)) from exc


def articles(items: list[Parsed]) -> list[RawArticle | RawArticleV2]:
    return [item for item in items if not isinstance(item, Rejected)]

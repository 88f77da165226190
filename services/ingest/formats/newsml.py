"""IPTC NewsML-G2: a ``newsItem``, or a ``newsMessage`` carrying several, mapped onto ``raw.v2``.

Parsed with lxml (the XML parser every Python XML stack builds on; no maintained NewsML-G2
library is on PyPI), entities and network access off. Each ``newsItem`` gives ``guid`` +
``version``, ``itemMeta`` (class, provider, versionCreated, embargoed, pubStatus) and
``contentMeta`` (urgency, headline, located, dateline, creator, language, subjects); the body
is the ``inlineXML`` of its ``contentSet``: NITF's ``body.content`` or an XHTML ``body``,
passed to ingest as HTML. ``inlineData`` is plain text. Items of another class than text
(picture, video, audio, graphic) and package or concept items are rejected as ``not-text``;
a text item whose body is missing or only points elsewhere (``remoteContent``) as ``empty``.
"""

from __future__ import annotations

from lxml import etree

from services.ingest.formats.base import (
    FIRST_VERSION,
    Parsed,
    Rejected,
    item_id,
    media_topic,
    parse_when,
)
from services.ingest.formats.base import pub_status as parse_status
from wiredesk.messages import RawArticleV2, Subject

__all__ = ["G2", "parse_newsml", "xml_parser"]

G2 = "http://iptc.org/std/nar/2006-10-01/"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
NS = {"g": G2}


def xml_parser() -> etree.XMLParser:
    """A parser that never fetches anything and never expands entities (XXE, billion laughs)."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
    )


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _text(element: etree._Element | None) -> str | None:
    if element is None:
        return None
    text = " ".join("".join(str(t) for t in element.itertext()).split())
    return text or None


def _first(item: etree._Element, path: str) -> etree._Element | None:
    return item.find(path, NS)


def _concept_name(element: etree._Element | None) -> str | None:
    """A concept's ``name`` (``located``, ``provider``), else its qcode or literal."""
    if element is None:
        return None
    name = _text(element.find("g:name", NS))
    return name or element.get("literal") or element.get("qcode")


def _strip_namespaces(element: etree._Element) -> etree._Element:
    """A copy with plain tag names, so NITF/XHTML reads as ordinary HTML downstream."""
    copy = etree.fromstring(etree.tostring(element), xml_parser())
    for node in copy.iter():
        if isinstance(node.tag, str):
            node.tag = etree.QName(node).localname
    etree.cleanup_namespaces(copy)
    return copy


def _body(item: etree._Element) -> tuple[str, str, str | None, str | None] | None:
    """(content type, body, NITF headline, NITF byline) of the item's inline content."""
    for inline in item.iterfind("g:contentSet/g:inlineXML", NS):
        roots = [child for child in inline if isinstance(child.tag, str)]
        if not roots:
            continue
        root = _strip_namespaces(roots[0])
        if root.tag == "nitf":
            content = root.find(".//body.content")
            headline = _text(root.find(".//hedline/hl1"))
            byline = _text(root.find(".//byline"))
            if content is None or _text(content) is None:
                continue
            content.tag = "div"
            html = etree.tostring(content, encoding="unicode", method="html")
            return "text/html", f"<html><body>{html}</body></html>", headline, byline
        body = root.find(".//body") if root.tag == "html" else root
        if body is not None and _text(body):
            return "text/html", etree.tostring(body, encoding="unicode", method="html"), None, None
    for inline in item.iterfind("g:contentSet/g:inlineData", NS):
        text = "".join(str(t) for t in inline.itertext()).strip()
        if text:
            return "text/plain", text, None, None
    return None


def _subjects(item: etree._Element) -> list[Subject]:
    out: list[Subject] = []
    for subject in item.iterfind("g:contentMeta/g:subject", NS):
        found = media_topic(
            subject.get("qcode") or subject.get("uri"), _text(subject.find("g:name", NS))
        )
        if found is not None:
            out.append(found)
    return out


def _item(item: etree._Element, *, source: str, locator: str, data: bytes) -> Parsed:
    meta = item.find("g:itemMeta", NS)
    content_meta = item.find("g:contentMeta", NS)
    item_class = meta.find("g:itemClass", NS) if meta is not None else None
    qcode = item_class.get("qcode", "") if item_class is not None else ""
    if qcode and not qcode.endswith(":text"):
        return Rejected(
            "not-text", f"NewsML-G2 item of class {qcode!r} has no article text", locator, data
        )
    found = _body(item)
    if found is None:
        return Rejected(
            "empty", "NewsML-G2 text item has no inline body (inlineXML/inlineData)", locator, data
        )
    content_type, body, nitf_headline, nitf_byline = found
    guid = item.get("guid")
    version = item.get("version") or FIRST_VERSION
    language = item.get(XML_LANG)
    if content_meta is not None and content_meta.find("g:language", NS) is not None:
        language = content_meta.find("g:language", NS).get("tag") or language  # type: ignore[union-attr]
    urgency_text = _text(_first(item, "g:contentMeta/g:urgency"))
    urgency = int(urgency_text) if urgency_text and urgency_text.isdigit() else None
    creators = [
        name
        for creator in item.iterfind("g:contentMeta/g:creator", NS)
        if (name := _concept_name(creator))
    ]
    pub = _first(item, "g:itemMeta/g:pubStatus")
    return RawArticleV2(
        id=item_id(source, guid, version, locator, body),
        source=source,
        url=locator,
        content_type=content_type,
        title=_text(_first(item, "g:contentMeta/g:headline")) or nitf_headline,
        body=body,
        guid=guid,
        version=version,
        version_created=parse_when(_text(_first(item, "g:itemMeta/g:versionCreated"))),
        pub_status=parse_status(pub.get("qcode") if pub is not None else None),
        embargoed=parse_when(_text(_first(item, "g:itemMeta/g:embargoed"))),
        urgency=urgency if urgency is not None and urgency <= 9 else None,
        language=language,
        byline=nitf_byline or (", ".join(creators) if creators else None),
        located=_concept_name(_first(item, "g:contentMeta/g:located"))
        or _text(_first(item, "g:contentMeta/g:dateline")),
        subjects=_subjects(item),
        provider=_concept_name(_first(item, "g:itemMeta/g:provider")),
        format="newsml-g2",
        original=data.decode("utf-8", "replace"),
        original_type="application/vnd.iptc.g2.newsitem+xml",
        original_ref=locator,
    )


ROOTS = frozenset({"newsItem", "newsMessage", "contentSet", "nitf", "contentMeta"})
"""Root elements this adapter reads: whole items and messages, and the fragments IPTC's
guidelines show on their own (a ``contentSet`` with an NITF body, a bare NITF document)."""


def _wrap_body(root: etree._Element) -> etree._Element:
    """A metadata-less ``newsItem`` around a bare NITF document or a ``contentSet``
    fragment, so they go through the same body extraction as a whole item."""
    item = etree.Element(f"{{{G2}}}newsItem")
    content_set = etree.SubElement(item, f"{{{G2}}}contentSet")
    inline = etree.SubElement(content_set, f"{{{G2}}}inlineXML")
    sources = (
        [root]
        if _local(root) == "nitf"
        else [
            child
            for block in root
            if _local(block) == "inlineXML"
            for child in block
            if isinstance(child.tag, str)
        ]
    )
    for child in sources[:1]:
        inline.append(etree.fromstring(etree.tostring(child), xml_parser()))
    return item


def parse_newsml(root: etree._Element, *, data: bytes, source: str, locator: str) -> list[Parsed]:
    """A ``newsItem`` -> one item; a ``newsMessage`` -> one per item in its ``itemSet``."""
    kind = _local(root)
    if kind == "newsItem":
        return [_item(root, source=source, locator=locator, data=data)]
    if kind in ("nitf", "contentSet"):
        return [_item(_wrap_body(root), source=source, locator=locator, data=data)]
    if kind != "newsMessage":
        return [Rejected("empty", f"a NewsML-G2 {kind} fragment carries no body", locator, data)]
    out: list[Parsed] = []
    item_set = root.find("g:itemSet", NS)
    children = [c for c in item_set if isinstance(c.tag, str)] if item_set is not None else []
    if not children:
        return [Rejected("empty", "NewsML-G2 newsMessage has no items", locator, data)]
    for number, child in enumerate(children, start=1):
        item_locator = f"{locator}#{child.get('guid') or number}"
        item_data = etree.tostring(child, encoding="utf-8")
        if _local(child) != "newsItem":
            out.append(
                Rejected(
                    "not-text",
                    f"NewsML-G2 {_local(child)} is not a news item",
                    item_locator,
                    item_data,
                )
            )
            continue
        out.append(_item(child, source=source, locator=item_locator, data=item_data))
    return out

"""Text of an HTML *fragment*: a wire item's body, a feed entry's content.

A provider's body is the article and nothing else, so it needs no main-content detection;
trafilatura's page heuristics would even throw a short item away as too little to be an
article (Business Wire's two-paragraph items). Here every block element (paragraph, heading,
list item, NITF ``hl1`` ...) becomes one line, whitespace inside a block is collapsed (NITF
wraps its lines), and scripts and styles are dropped. lxml.html parses the fragment (a whole
document is fine too), so broken markup is repaired rather than refused.
"""

from __future__ import annotations

import re
from typing import cast

import lxml.html
from lxml import etree

__all__ = ["fragment_text"]

_BLOCKS = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "body",
        "dd",
        "div",
        "dl",
        "dt",
        "figcaption",
        "figure",
        "footer",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hl1",
        "hl2",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "td",
        "th",
        "tr",
        "ul",
        "block",
        "abstract",
        "byline",
        "dateline",
    }
)
_DROP = ("script", "style", "noscript", "template", "head")
_SPACE = re.compile(r"\s+")


def fragment_text(markup: str) -> str:
    """One line per block of the fragment's text; empty for markup without text."""
    if not markup.strip():
        return ""
    try:
        root = cast(lxml.html.HtmlElement, lxml.html.fromstring(markup))
    except (etree.ParserError, ValueError):
        return ""
    for element in list(root.iter(*_DROP)):
        cast(lxml.html.HtmlElement, element).drop_tree()
    for element in root.iter():
        if not isinstance(element.tag, str):  # comments, processing instructions
            element.text = ""
            continue
        if element.text:
            element.text = _SPACE.sub(" ", element.text)
        if element.tail:
            element.tail = _SPACE.sub(" ", element.tail)
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        tag = element.tag.lower()
        if tag in _BLOCKS:
            element.text = "\n" + (element.text or "")
            element.tail = "\n" + (element.tail or "")
        elif tag == "br":
            element.tail = "\n" + (element.tail or "")
    lines = (" ".join(line.split()) for line in root.text_content().split("\n"))
    return "\n".join(line for line in lines if line)

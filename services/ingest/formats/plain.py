"""The original inputs: plain text, an HTML page, and JSONL (one article per line).

These stay ``raw.v1`` with the ids they always had (source + locator + body), so replaying
files made before ``raw.v2`` is recognised as a replay. A JSONL line that declares
``"schema": "raw.v2"`` (or ``raw.v1``) is read as that message instead.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from pydantic import ValidationError

from services.ingest.formats.base import Parsed, Rejected
from wiredesk.messages import RawArticle, RawArticleV2

__all__ = ["JsonlError", "parse_html", "parse_jsonl", "parse_text", "stable_id"]


class JsonlError(ValueError):
    """A JSONL line that is not an article (the whole file is refused: it is a producer bug)."""


def stable_id(source: str, locator: str, body: str) -> str:
    digest = hashlib.sha256("\x1f".join((source, locator, body)).encode("utf-8")).hexdigest()
    return digest[:32]


def parse_text(text: str, *, source: str, locator: str) -> RawArticle:
    return RawArticle(id=stable_id(source, locator, text), source=source, url=locator, body=text)


def parse_html(text: str, *, source: str, locator: str) -> RawArticle:
    return RawArticle(
        id=stable_id(source, locator, text),
        source=source,
        url=locator,
        content_type="text/html",
        body=text,
    )


def _line(doc: dict[str, Any], *, source: str, locator: str, line: bytes) -> Parsed:
    if doc.get("schema") in ("raw.v1", "raw.v2"):
        model = RawArticleV2 if doc["schema"] == "raw.v2" else RawArticle
        try:
            return model.model_validate(doc)
        except ValidationError as exc:
            return Rejected(
                "schema-violation",
                str(exc).splitlines()[0]
                + ": "
                + "; ".join(
                    f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5]
                ),
                locator,
                line,
            )
    body = doc.get("body") or doc.get("text")
    if not isinstance(body, str):
        raise JsonlError(f"{locator}: needs a string 'text' or 'body'")
    doc_source = str(doc.get("source") or source)
    url = str(doc.get("url") or locator)
    return RawArticle(
        id=str(doc.get("id") or stable_id(doc_source, url, body)),
        source=doc_source,
        url=url,
        content_type=doc.get("content_type") or "text/plain",
        title=doc.get("title"),
        body=body,
    )


def parse_jsonl(data: bytes, *, source: str, name: str) -> list[Parsed]:
    out: list[Parsed] = []
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            doc = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise JsonlError(f"{name}:{number}: invalid JSON: {exc}") from exc
        if not isinstance(doc, dict):
            raise JsonlError(f"{name}:{number}: needs a JSON object")
        out.append(_line(doc, source=source, locator=f"{name}#{number}", line=line))
    return out

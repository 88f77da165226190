"""IPTC ninjs ("News in JSON") 1.x, 2.x and 3.x: validated, then mapped onto ``raw.v2``.

The versions name the same things differently: 1.x ``headline``, ``body_html``/``body_text``,
``byline``, ``versioncreated``, ``pubstatus``; 2.x ``headlines[]``, ``bodies[]``, ``by`` but
still lower-case ``versioncreated``/``pubstatus``/``contenttype``; 3.x camelCase
``versionCreated``/``pubStatus``/``contentType``. ``uri`` + ``version`` is the identity in all.

Each document is validated with ``jsonschema`` against the official IPTC schema of its version
(shipped in ``schemas/ninjs``, MIT, unchanged); an invalid one is rejected with the validator's
message. 2.1 and later ``$ref`` GeoJSON's schema by URL: with no network, that URI resolves to
the local stand-in ``schemas/geojson-minimal.json`` through a ``referencing.Registry``.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import orjson
from jsonschema import Draft4Validator, Draft202012Validator
from jsonschema.exceptions import best_match
from jsonschema.protocols import Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

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

__all__ = ["detect_version", "is_ninjs", "parse_ninjs", "validator"]

SCHEMAS = Path(__file__).parent / "schemas"
GEOJSON_URI = "https://geojson.org/schema/GeoJSON.json"
SCHEMA_FILES = {
    "1.4": "ninjs-schema_1.4.json",
    "2.1": "ninjs-schema_2.1.json",
    "3.0": "ninjs-schema_3.0.json",
    "3.1": "ninjs-schema_3.1.json",
}
TEXT_TYPES = {"text", "composite", None}
"""ninjs ``type`` values that carry text; picture, video, audio, graphic are not articles."""

_V3_KEYS = frozenset(
    {
        "versionCreated",
        "pubStatus",
        "firstCreated",
        "copyrightHolder",
        "copyrightNotice",
        "contentCreated",
        "edNote",
        "altIds",
        "usageTerms",
        "representationType",
        "infoSources",
    }
)
_V2_KEYS = frozenset({"bodies", "headlines", "descriptions", "subjects", "places", "people"})


def is_ninjs(doc: Any) -> bool:
    """A JSON object shaped like ninjs: it has the mandatory ``uri`` and something of a news
    item (every version requires ``uri``)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("uri"), str):
        return False
    keys = set(doc)
    return bool(
        keys
        & (
            _V3_KEYS
            | _V2_KEYS
            | {"headline", "body_text", "body_html", "body_xhtml", "versioncreated", "type"}
        )
    )


def detect_version(doc: dict[str, Any]) -> str:
    """The schema to validate against: the version a ``standard`` block names, else the
    version its key spelling implies (camelCase 3.x, plural lists 2.x, else 1.x)."""
    standard = doc.get("standard")
    if isinstance(standard, dict) and str(standard.get("name", "")).lower() == "ninjs":
        named = str(standard.get("version", ""))
        if named in SCHEMA_FILES:
            return named
    keys = set(doc)
    if keys & _V3_KEYS:
        return "3.0"
    if keys & _V2_KEYS:
        return "2.1"
    return "1.4"


@functools.cache
def _registry() -> Registry[Any]:
    geojson = orjson.loads((SCHEMAS / "geojson-minimal.json").read_bytes())
    resource: Resource[Any] = DRAFT7.create_resource(geojson)
    return Registry().with_resources([(GEOJSON_URI, resource), (GEOJSON_URI + "#", resource)])


@functools.cache
def validator(version: str) -> Validator:
    """A validator for one ninjs version, with GeoJSON resolved locally."""
    schema = orjson.loads((SCHEMAS / "ninjs" / SCHEMA_FILES[version]).read_bytes())
    if version == "1.4":
        return Draft4Validator(schema)
    return Draft202012Validator(schema, registry=_registry())


def _get(doc: dict[str, Any], *names: str) -> Any:
    for name in names:
        if doc.get(name) not in (None, "", []):
            return doc[name]
    return None


def _headline(doc: dict[str, Any]) -> str | None:
    headlines = doc.get("headlines")
    if isinstance(headlines, list) and headlines:
        main = next((h for h in headlines if h.get("role") == "main"), headlines[0])
        value = main.get("value")
        return str(value) if value else None
    value = _get(doc, "headline", "title")
    return str(value) if value else None


def _body(doc: dict[str, Any]) -> tuple[str, str] | None:
    """(content type, body): HTML preferred (paragraphs survive), then plain text, then the
    description as the last resort (NTB's items carry only that)."""
    bodies = doc.get("bodies")
    if isinstance(bodies, list) and bodies:

        def kind(body: dict[str, Any]) -> str:
            return str(body.get("contentType") or body.get("contenttype") or "").lower()

        for wanted in ("text/html", "application/xhtml+xml", "text/plain"):
            for body in bodies:
                if kind(body) == wanted and body.get("value"):
                    ctype = "text/plain" if wanted == "text/plain" else "text/html"
                    return ctype, str(body["value"])
        for body in bodies:  # NITF or other XML: its markup reads as HTML to the extractor
            if "xml" in kind(body) or "nitf" in kind(body):
                return "text/html", str(body["value"])
    for key, ctype in (
        ("body_xhtml", "text/html"),
        ("body_html", "text/html"),
        ("body_text", "text/plain"),
    ):
        if doc.get(key):
            return ctype, str(doc[key])
    descriptions = doc.get("descriptions")
    if isinstance(descriptions, list):
        for desc in descriptions:
            if desc.get("value"):
                return "text/plain", str(desc["value"])
    if doc.get("description_text"):
        return "text/plain", str(doc["description_text"])
    return None


def _subjects(doc: dict[str, Any]) -> list[Subject]:
    out: list[Subject] = []
    for subject in doc.get("subjects") or doc.get("subject") or []:
        if not isinstance(subject, dict):
            continue
        code = subject.get("uri") or subject.get("literal")
        if subject.get("scheme") and subject.get("code"):
            code = f"{subject['scheme']}{subject['code']}"
        found = media_topic(str(code) if code else None, subject.get("name"))
        if found is not None:
            out.append(found)
    return out


def parse_ninjs(doc: dict[str, Any], *, data: bytes, source: str, locator: str) -> list[Parsed]:
    """One ninjs document -> one raw.v2 item, or a rejection with the validator's message."""
    version = detect_version(doc)
    error = best_match(validator(version).iter_errors(doc))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "<root>"
        return [
            Rejected("invalid-ninjs", f"ninjs {version} at {where}: {error.message}", locator, data)
        ]
    kind = doc.get("type")
    if kind not in TEXT_TYPES:
        return [
            Rejected("not-text", f"ninjs item of type {kind!r} has no article text", locator, data)
        ]
    body = _body(doc)
    if body is None:
        return [Rejected("empty", "ninjs item has no body, headline-only", locator, data)]
    content_type, text = body
    guid = str(doc["uri"])
    item_version = str(doc["version"]) if doc.get("version") is not None else FIRST_VERSION
    urgency = doc.get("urgency")
    by = _get(doc, "by", "byline")
    return [
        RawArticleV2(
            id=item_id(source, guid, item_version, locator, text),
            source=source,
            url=locator,
            content_type=content_type,
            title=_headline(doc),
            body=text,
            guid=guid,
            version=item_version,
            version_created=parse_when(_get(doc, "versionCreated", "versioncreated")),
            pub_status=parse_status(_get(doc, "pubStatus", "pubstatus")),
            embargoed=parse_when(_get(doc, "embargoed", "embargoedUntil")),
            urgency=urgency if isinstance(urgency, int) and 0 <= urgency <= 9 else None,
            language=_get(doc, "language"),
            byline=str(by) if by else None,
            located=_get(doc, "located"),
            subjects=_subjects(doc),
            provider=_get(doc, "copyrightHolder", "copyrightholder", "provider"),
            format=f"ninjs-{version}",
            original=data.decode("utf-8", "replace"),
            original_type="application/json",
            original_ref=locator,
        )
    ]

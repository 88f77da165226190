"""The field tables of docs/messages.md, generated from the message models' JSON Schemas.

Hand-written tables drifted (``author``, ``canonical_url`` and ``evidence`` were missing for a
release); these come from the same schemas that are published in ``schemas/``, so a field
cannot exist without a row. Each later version lists only what it adds to the one it extends.

    python -m wiredesk.fieldtables docs/messages.md     # rewrite the generated block
    python -m wiredesk.fieldtables --check docs/messages.md

``make schema`` runs the first; ``tests/unit/test_field_tables.py`` fails when the block is
stale.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from wiredesk.messages import (
    AnnotatedArticle,
    AnnotatedArticleV2,
    Article,
    ArticleV2,
    DeadLetter,
    RawArticle,
    RawArticleV2,
    Stripped,
    Subject,
    WireModel,
)
from wiredesk.story_events import StoryCanonical, StoryCause, StoryEvent

BEGIN = "<!-- BEGIN GENERATED FIELD TABLES: python -m wiredesk.fieldtables docs/messages.md -->"
END = "<!-- END GENERATED FIELD TABLES -->"

SECTIONS: tuple[tuple[str, type[WireModel], type[WireModel] | None], ...] = (
    ("raw.v1", RawArticle, None),
    ("raw.v2", RawArticleV2, RawArticle),
    ("article.v1", Article, None),
    ("article.v2", ArticleV2, Article),
    ("annotated.v1", AnnotatedArticle, Article),
    ("annotated.v2", AnnotatedArticleV2, AnnotatedArticle),
    ("deadletter.v1", DeadLetter, None),
    ("story.v1", StoryEvent, None),
    ("story.v1 `canonical`", StoryCanonical, None),
    ("story.v1 `cause`", StoryCause, None),
    ("`subjects[]` (v2)", Subject, None),
    ("`stripped[]`", Stripped, None),
)
"""(heading, model, the model whose fields it repeats): what the generated block contains."""

HINTS = {
    "schema": "the message version; routers may read the entry field of the same name instead",
    "id": "the article's id: a producer's, or a stable hash of source + locator + body "
    "(raw.v2: of source, guid and version)",
    "source": "who published it (a site, a wire, a feed)",
    "url": "URL or other locator of the document",
    "received_at": "when the producer fetched or received it",
    "body": "the document's text or HTML, as fetched",
    "title": "headline",
    "headline": "headline (raw.v1's `title`; both names are read)",
    "story_id": "the story: the id of its first article",
    "method": "which dedupe stage decided",
    "stage": "the stage that gave up",
    "error": "what went wrong, human-readable",
    "attempts": "deliveries before it gave up",
    "source_stream": "the stream the entry was read from",
    "source_id": "its stream id there",
    "event": "what happened to the story",
    "story_id@story.v1": "the story that changed",
    "id@story.v1 `canonical`": "article id of the canonical",
    "id@story.v1 `cause`": "article id of the item that caused the change",
    "change": "what the item did to its story",
    "pub_status": "usable, withheld or canceled",
    "content_type": "how to read `body`",
    "byline": "who wrote it, as the provider gave it",
    "subjects": "the provider's subjects (IPTC Media Topics as `medtop:...` where given)",
    "published_at": "when the page says it was published (absurd dates are dropped)",
    "word_count": "words in `text`",
    "stripped": "what ingest removed from the text, and why",
    "code": "e.g. `medtop:04000000`",
    "name": "the subject's name",
    "kind": "the rule that removed it",
}


def _type(prop: dict[str, Any], defs: dict[str, Any]) -> str:
    """A short, exact rendering of a property's JSON Schema type."""
    if "$ref" in prop:
        name = prop["$ref"].rsplit("/", 1)[-1]
        target = defs.get(name, {})
        return _choices(target["enum"]) if "enum" in target else f"object ({name})"
    if "const" in prop:
        return f'`"{prop["const"]}"`'
    if "enum" in prop:
        return _choices(prop["enum"])
    if "anyOf" in prop:
        options = [p for p in prop["anyOf"] if p.get("type") != "null"]
        rendered = " or ".join(_type(p, defs) for p in options)
        return f"{rendered} or null" if len(options) < len(prop["anyOf"]) else rendered
    return _plain(prop, defs)


def _choices(values: list[Any]) -> str:
    return " \\| ".join(f"`{v}`" for v in values)


def _plain(prop: dict[str, Any], defs: dict[str, Any]) -> str:
    """A property with a ``type`` (string, number, array, object)."""
    kind = prop.get("type", "any")
    if kind == "string" and prop.get("format") == "date-time":
        return "date-time (RFC 3339, with offset)"
    if kind == "string":
        bounds = _bounds(prop.get("minLength"), prop.get("maxLength"), "chars")
        pattern = f", pattern `{prop['pattern']}`" if "pattern" in prop else ""
        return f"string{bounds}{pattern}"
    if kind in ("integer", "number"):
        return f"{kind}{_bounds(prop.get('minimum'), prop.get('maximum'), '')}"
    if kind == "array":
        most = f", at most {prop['maxItems']}" if "maxItems" in prop else ""
        return f"array of {_type(prop.get('items', {}), defs)}{most}"
    if kind == "object" and "additionalProperties" in prop:
        most = f", at most {prop['maxProperties']} keys" if "maxProperties" in prop else ""
        return f"object of {_type(prop['additionalProperties'], defs)}{most}"
    return str(kind)


def _bounds(low: Any, high: Any, unit: str) -> str:
    suffix = f" {unit}" if unit else ""
    if low is not None and high is not None:
        return f" ({low}..{high}{suffix})"
    if high is not None:
        return f" (at most {high}{suffix})"
    if low is not None:
        return f" (at least {low}{suffix})"
    return ""


def _default(prop: dict[str, Any], required: bool) -> str:
    if required:
        return "required"
    if "default" in prop:
        value = prop["default"]
        return "`null`" if value is None else f"`{value}`"
    return "optional"


def schema_of(model: type[WireModel]) -> dict[str, Any]:
    """The model's schema exactly as published (by alias, serialization mode)."""
    return model.model_json_schema(by_alias=True, mode="serialization")


def table(heading: str, model: type[WireModel], parent: type[WireModel] | None) -> str:
    schema = schema_of(model)
    defs = schema.get("$defs", {})
    required = set(schema.get("required", []))
    inherited = set(schema_of(parent)["properties"]) if parent is not None else set()
    rows = []
    for name, prop in schema["properties"].items():
        if name in inherited and name != "schema":
            continue
        meaning = prop.get("description") or HINTS.get(f"{name}@{heading}") or HINTS.get(name, "")
        cell = meaning.replace("|", "\\|").replace("\n", " ")
        rows.append(
            f"| `{name}` | {_type(prop, defs)} | {_default(prop, name in required)} | {cell} |"
        )
    intro = f"### {heading}\n\n"
    if parent is not None:
        intro += f"Every field of `{parent.SCHEMA}`, and:\n\n"
    head = "| field | type | required / default | meaning |\n|---|---|---|---|\n"
    return intro + head + "\n".join(rows) + "\n"


def generated_block() -> str:
    body = "\n".join(table(heading, model, parent) for heading, model, parent in SECTIONS)
    return f"{BEGIN}\n\n{body}\n{END}"


def rewrite(text: str) -> str:
    """``text`` with its generated block replaced (it must have the two markers)."""
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"markers not found: {BEGIN!r} ... {END!r}")
    return text[:start] + generated_block() + text[end + len(END) :]


def main(argv: list[str]) -> int:
    check = "--check" in argv
    paths = [Path(a) for a in argv if a != "--check"] or [Path("docs/messages.md")]
    stale = False
    for path in paths:
        text = path.read_text(encoding="utf-8")
        new = rewrite(text)
        if check:
            stale |= new != text
        elif new != text:
            path.write_text(new, encoding="utf-8")
    if stale:
        print("field tables are stale: run `make schema`", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

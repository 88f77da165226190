"""JSON Schemas of the wire messages, generated from the models (the single source of truth)."""

from __future__ import annotations

from pathlib import Path

import orjson

from wiredesk.messages import ALL_MODELS, WireModel
from wiredesk.story_events import StoryEvent

DRAFT = "https://json-schema.org/draft/2020-12/schema"
"""The dialect pydantic generates (``$defs``, ``prefixItems``): declared, so a validator in any
language (Ajv's ``ajv/dist/2020``, jsonschema's ``Draft202012Validator``) picks the right one
instead of guessing draft-07."""


def json_schemas() -> dict[str, bytes]:
    """File name -> JSON Schema document, one per message version."""
    out: dict[str, bytes] = {}
    models: tuple[type[WireModel], ...] = (*ALL_MODELS, StoryEvent)
    for model in models:
        schema = model.model_json_schema(by_alias=True, mode="serialization")
        schema["$schema"] = DRAFT
        schema["$id"] = f"https://wiredesk.dev/schemas/{model.SCHEMA}.json"
        out[f"{model.SCHEMA}.json"] = (
            orjson.dumps(schema, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
        )
    return out


def write_schemas(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in json_schemas().items():
        path = directory / name
        path.write_bytes(content)
        written.append(path)
    return written

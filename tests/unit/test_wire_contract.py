"""The published contract as a strict client in another language reads it.

A Node consumer (Ajv + ajv-formats) and a Rust client (cargo-typify) tripped on: schemas with no
declared draft, zoneless timestamps that the pipeline's own ``format: date-time`` rejects, and
AsyncAPI keys the spec forbids. These tests hold the contract to what those clients need.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from jsonschema import Draft202012Validator, FormatChecker

from services.ingest.normalize import Limits, normalize
from wiredesk.messages import (
    ALL_MODELS,
    AnnotatedArticle,
    DeadLetter,
    Method,
    RawArticle,
    RawArticleV2,
    WireModel,
)
from wiredesk.schemas import DRAFT, json_schemas
from wiredesk.story_events import StoryEvent

RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$")

STRICT = FormatChecker()


@STRICT.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    """RFC 3339 ``date-time``: the offset is mandatory (what rfc3339-validator, which jsonschema
    uses when installed, and ajv-formats check). Declared here so the test cannot pass only
    because no date-time checker happens to be installed."""
    if not isinstance(value, str):
        return True
    if not RFC3339.match(value):
        raise ValueError(f"{value!r} is not an RFC 3339 date-time (offset required)")
    datetime.fromisoformat(value.replace("z", "Z"))
    return True


def validator(schema_name: str) -> Draft202012Validator:
    schema = orjson.loads(json_schemas()[f"{schema_name}.json"])
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=STRICT)


def errors(schema_name: str, document: Any) -> list[str]:
    return [e.message for e in validator(schema_name).iter_errors(document)]


def test_the_checker_rejects_a_zoneless_time() -> None:
    """The format check itself can fail (otherwise the tests below prove nothing)."""
    assert errors("deadletter.v1", _letter_with_failed_at("2024-05-01T10:00:00"))
    assert not errors("deadletter.v1", _letter_with_failed_at("2024-05-01T10:00:00Z"))


def _letter_with_failed_at(when: str) -> dict[str, Any]:
    letter = DeadLetter.wrap(
        b"{}", stage="s", reason="r", error="e", attempts=1, source_stream="x", source_id="1-0"
    )
    return {**orjson.loads(letter.to_json()), "failed_at": when}


def test_every_schema_declares_its_draft() -> None:
    for name, content in json_schemas().items():
        schema = orjson.loads(content)
        assert schema["$schema"] == DRAFT, name
        assert schema["$id"].endswith(f"/{name}")
        Draft202012Validator.check_schema(schema)


BODY = " ".join(f"word{i}" for i in range(60))


@pytest.mark.parametrize("model", [RawArticle, RawArticleV2])
def test_zoneless_times_from_a_producer_come_out_valid_against_the_published_schemas(
    model: type[RawArticle],
) -> None:
    document: dict[str, Any] = {
        "schema": model.SCHEMA,
        "id": "naive-1",
        "source": "producer",
        "url": "https://example.com/a",
        "received_at": "2024-05-01T10:00:00",  # no zone
        "body": f"Published 2024-05-01. {BODY}",
    }
    if model is RawArticleV2:
        document |= {"version_created": "2024-05-01T09:00:00", "embargoed": "2024-05-01T09:30"}
    # the schema asks producers for an offset; wiredesk still reads a zoneless time, as UTC ...
    assert any("date-time" in e or "any of" in e for e in errors(model.SCHEMA, document))
    raw = model.model_validate(document)
    assert raw.received_at == datetime(2024, 5, 1, 10, tzinfo=UTC)
    article = normalize(raw, Limits(min_words=5))
    annotated = AnnotatedArticle.from_article(
        article,
        story_id=article.id,
        duplicate_of=None,
        method=Method.NEW,
        score=1.0,
        canonical_id=article.id,
    )
    for message in (article, annotated):  # ... and everything wiredesk emits carries one
        out = orjson.loads(message.to_json())
        assert out["received_at"] == "2024-05-01T10:00:00Z"
        assert not errors(message.SCHEMA, out), message.SCHEMA
    if model is RawArticleV2:
        assert out["version_created"] == "2024-05-01T09:00:00Z"
        assert out["embargoed"] == "2024-05-01T09:30:00Z"


def test_a_zoneless_published_at_is_read_as_utc() -> None:
    raw = RawArticle(id="p", source="s", url="u", body=BODY)
    article = normalize(raw, Limits(min_words=5))
    fields = article.model_dump(mode="json", by_alias=True)
    fields["published_at"] = "2024-05-01T08:15:00"
    again = type(article).model_validate(fields)
    assert again.published_at == datetime(2024, 5, 1, 8, 15, tzinfo=UTC)
    assert not errors(again.SCHEMA, orjson.loads(again.to_json()))


@pytest.mark.parametrize("model", [*ALL_MODELS, StoryEvent])
def test_every_time_field_of_every_message_is_zoned_when_read(model: type[WireModel]) -> None:
    """Whatever a model's fields, none keeps a zoneless time (checked on the schema's
    date-time properties, so a new time field cannot slip past)."""
    schema = orjson.loads(json_schemas()[f"{model.SCHEMA}.json"])
    times = [name for name, prop in schema["properties"].items() if _is_date_time(prop)]
    assert times or model.SCHEMA in ("subject", "stripped")
    field_of = {(info.alias or name): name for name, info in model.model_fields.items()}
    for name in times:
        value = _validate_field(model, field_of[name], "2024-05-01T10:00:00")
        assert value.tzinfo is not None, (model.SCHEMA, name)


def _is_date_time(prop: dict[str, Any]) -> bool:
    if prop.get("format") == "date-time":
        return True
    return any(_is_date_time(p) for p in prop.get("anyOf", []))


def _validate_field(model: type[WireModel], field: str, value: str) -> datetime:
    from pydantic import TypeAdapter

    adapter: TypeAdapter[Any] = TypeAdapter(model.model_fields[field].rebuild_annotation())
    result = adapter.validate_python(value)
    assert isinstance(result, datetime)
    return result

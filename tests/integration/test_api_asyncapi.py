"""The committed AsyncAPI document must be what the models and topology generate."""

from __future__ import annotations

import orjson

from services.api.asyncapi import asyncapi_json
from tests.conftest import ROOT


def test_committed_asyncapi_document_matches_the_models() -> None:
    committed = (ROOT / "schemas" / "asyncapi.json").read_bytes()
    assert committed == asyncapi_json(), (
        "schemas/asyncapi.json is stale: run `wiredesk asyncapi` and commit the result"
    )


def test_the_unique_stream_is_described_with_the_annotated_payload() -> None:
    document = orjson.loads(asyncapi_json())
    channel = document["channels"]["your-service:articles:unique"]
    assert channel["address"] == "articles:unique"
    payload = document["components"]["schemas"]["AnnotatedArticle"]
    assert payload["properties"]["schema"]["const"] == "annotated.v1"
    assert {"story_id", "canonical_id", "method", "score"} <= set(payload["required"])


def test_version_2_payloads_are_described_too() -> None:
    document = orjson.loads(asyncapi_json())
    payload = document["components"]["schemas"]["AnnotatedArticleV2"]
    assert payload["properties"]["schema"]["const"] == "annotated.v2"
    assert {"guid", "version", "pub_status", "language"} <= set(payload["properties"])
    assert document["channels"]["dedupe:articles:unique:v2"]["address"] == "articles:unique"

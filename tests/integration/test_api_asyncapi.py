"""The committed AsyncAPI document must be what the models and topology generate."""

from __future__ import annotations

import re
from typing import Any

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
    channel = document["channels"]["your-service_articles_unique"]
    assert channel["address"] == "articles:unique"
    payload = document["components"]["schemas"]["AnnotatedArticle"]
    assert payload["properties"]["schema"]["const"] == "annotated.v1"
    assert {"story_id", "canonical_id", "method", "score"} <= set(payload["required"])


def test_version_2_payloads_are_described_too() -> None:
    document = orjson.loads(asyncapi_json())
    payload = document["components"]["schemas"]["AnnotatedArticleV2"]
    assert payload["properties"]["schema"]["const"] == "annotated.v2"
    assert {"guid", "version", "pub_status", "language"} <= set(payload["properties"])
    assert document["channels"]["dedupe_articles_unique_v2"]["address"] == "articles:unique"


COMPONENT_KEY = re.compile(r"^[a-zA-Z0-9.\-_]+$")  # AsyncAPI 3.0, Components Object
ID_KEY = re.compile(r"^[A-Za-z0-9_\-]+$")  # AsyncAPI 3.0, Channels and Operations Objects


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def _resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def test_every_key_matches_the_spec_and_every_ref_resolves() -> None:
    document = orjson.loads(asyncapi_json())
    for kind, entries in document["components"].items():
        for key in entries:
            assert COMPONENT_KEY.match(key), (kind, key)
    for section in ("channels", "operations"):
        for key in document[section]:
            assert ID_KEY.match(key), (section, key)
    for channel in document["channels"].values():
        for key in channel.get("messages", {}):
            assert ID_KEY.match(key), key
    refs = _refs(document)
    assert len(refs) > 40
    for ref in refs:
        _resolve(document, ref)  # a KeyError names the dangling ref


def test_no_correlation_id_points_at_a_header_entries_do_not_carry() -> None:
    assert b"correlationId" not in asyncapi_json()
    assert b"correlation_id" not in asyncapi_json()


def test_the_story_events_stream_is_described() -> None:
    document = orjson.loads(asyncapi_json())
    for name in ("dedupe_articles_stories", "your-service_articles_stories"):
        assert document["channels"][name]["address"] == "articles:stories"
    payload = document["components"]["schemas"]["StoryEvent"]
    assert payload["properties"]["schema"]["const"] == "story.v1"
    assert {"event", "story_id", "revision", "members", "canonical", "cause"} <= set(
        payload["required"]
    )
    operation = document["operations"]["your-service_articles_stories"]
    assert operation["action"] == "receive"

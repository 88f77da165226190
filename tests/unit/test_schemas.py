"""The committed JSON Schemas must be what the models generate: consumers rely on them."""

from __future__ import annotations

import orjson

from tests.conftest import ROOT
from wiredesk.messages import RawArticle
from wiredesk.schemas import json_schemas


def test_committed_schemas_match_the_models() -> None:
    generated = json_schemas()
    committed = {p.name: p.read_bytes() for p in (ROOT / "schemas").glob("*.json")}
    assert committed == generated, "schemas/ is stale: run `make schema` and commit the result"


def test_schema_documents_name_their_version_and_required_fields() -> None:
    schema = orjson.loads(json_schemas()["raw.v1.json"])
    assert schema["properties"]["schema"]["const"] == RawArticle.SCHEMA
    assert {"id", "source", "url", "body"} <= set(schema["required"])

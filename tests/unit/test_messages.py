"""The wire contract: round trips, and a reason code for every kind of malformed entry."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from wiredesk.messages import (
    AnnotatedArticle,
    Article,
    DeadLetter,
    MalformedMessage,
    Method,
    RawArticle,
    decode_entry,
    encode_entry,
)


def make_article(**overrides: object) -> Article:
    fields: dict[str, object] = {
        "id": "a1",
        "source": "wire",
        "url": "https://example.com/a1",
        "received_at": datetime(2024, 12, 15, tzinfo=UTC),
        "title": "Title",
        "lang": "en",
        "text": "Some text.",
        "text_sha256": "0" * 64,
        "word_count": 2,
    }
    fields.update(overrides)
    return Article.model_validate(fields)


def test_raw_article_round_trips_through_a_stream_entry() -> None:
    raw = RawArticle(id="x", source="s", url="u", body="hello")
    fields = encode_entry(raw)
    assert fields[b"schema"] == b"raw.v1"
    assert decode_entry(fields, RawArticle, max_bytes=10_000) == raw


def test_schema_field_is_serialized_under_its_alias() -> None:
    document = orjson.loads(make_article().to_json())
    assert document["schema"] == "article.v1"
    assert "schema_version" not in document


def test_annotated_article_keeps_every_article_field() -> None:
    article = make_article(dateline="TARTOUS")
    annotated = AnnotatedArticle.from_article(
        article, story_id="s1", duplicate_of="a0", method=Method.NEAR, score=0.7, canonical_id="a0"
    )
    assert annotated.dateline == "TARTOUS"
    assert annotated.schema_version == "annotated.v1"
    assert orjson.loads(annotated.to_json())["method"] == "near"


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({b"schema": b"raw.v1"}, "missing-data"),
        ({b"data": b"{not json"}, "invalid-json"),
        ({b"data": b"\xff\xfe\x00garbage"}, "undecodable"),
        ({b"data": b'{"id": "x"}'}, "schema-violation"),
        (
            {b"data": b'{"schema": "raw.v9", "id": "x", "source": "s", "url": "u", "body": "b"}'},
            "schema-violation",
        ),
        ({b"data": b"[" + b"1," * 600 + b"1]"}, "too-large"),
    ],
)
def test_malformed_entries_get_a_reason_code(fields: dict[bytes, bytes], reason: str) -> None:
    with pytest.raises(MalformedMessage) as caught:
        decode_entry(fields, RawArticle, max_bytes=1000)
    assert caught.value.reason == reason


def test_unknown_fields_are_a_schema_violation_not_silently_dropped() -> None:
    doc = {"id": "x", "source": "s", "url": "u", "body": "b", "surprise": 1}
    with pytest.raises(MalformedMessage, match="surprise"):
        decode_entry({b"data": orjson.dumps(doc)}, RawArticle, max_bytes=10_000)


@pytest.mark.parametrize("original", [b'{"id": 1}', b"\xff\x00 not utf-8 \xfe"])
def test_dead_letter_keeps_the_original_bytes_exactly(original: bytes) -> None:
    letter = DeadLetter.wrap(
        original,
        stage="ingest",
        reason="r",
        error="e",
        attempts=1,
        source_stream="articles:raw",
        source_id="1-0",
    )
    decoded = decode_entry(encode_entry(letter), DeadLetter, max_bytes=10_000)
    assert decoded.original_bytes() == original

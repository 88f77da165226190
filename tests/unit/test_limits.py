"""Limits every stage boundary enforces (wiredesk.limits) and the models that use them."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from wiredesk.limits import check_date, strip_controls
from wiredesk.messages import AnnotatedArticle, Article, DeadLetter, MalformedMessage, RawArticle


@pytest.mark.parametrize(
    ("dirty", "clean"),
    [
        ("plain", "plain"),
        ("a\x1b[2J\x1b[31mred\x1b[0m", "ared"),
        ("x\x1b]0;pwned\x07y", "xy"),
        ("x\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\", "xlink"),
        ("nul\x00bell\x07del\x7fcsi\x9b", "nulbelldelcsi"),
        ("keep\nnew\tlines", "keep\nnew\tlines"),
        ("over\rwrite", "overwrite"),
        ("漢字 عربي עברית", "漢字 عربي עברית"),
    ],
)
def test_strip_controls(dirty: str, clean: str) -> None:
    assert strip_controls(dirty) == clean


@pytest.mark.parametrize(
    "when",
    [
        "9999-12-31T23:59:59-05:00",
        "0001-01-01T00:00:00+05:00",
        "1899-12-31T23:59:59+00:00",
    ],
)
def test_dates_outside_the_sane_range_are_refused_before_they_overflow(when: str) -> None:
    with pytest.raises(ValueError, match="outside"):
        check_date(datetime.fromisoformat(when))


def test_future_skew_is_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    soon = datetime.now(UTC) + timedelta(hours=2)
    check_date(soon)
    monkeypatch.setenv("WIREDESK_MAX_FUTURE_SKEW_S", "60")
    with pytest.raises(ValueError, match="in the future"):
        check_date(soon)
    check_date(datetime(2020, 1, 1))  # naive dates are read as UTC


def _article(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": "a1",
        "source": "wire",
        "url": "https://example.com/a1",
        "received_at": "2024-01-01T00:00:00Z",
        "title": "Title",
        "lang": "en",
        "text": "Some text.",
        "text_sha256": hashlib.sha256(b"x").hexdigest(),
        "word_count": 2,
    }
    return {**doc, **changes}


def _annotated(**changes: Any) -> dict[str, Any]:
    extra = {"story_id": "a1", "method": "new", "score": 1.0, "canonical_id": "a1"}
    return {**_article(), **extra, **changes}


@pytest.mark.parametrize(
    "changes",
    [
        {"text": ""},
        {"word_count": -5},
        {"word_count": 2**63},
        {"id": "x" * 201},
        {"id": "a\x1b[2Jb"},
        {"source": ""},
        {"title": "t" * 1001},
        {"lang": "x" * 17},
        {"text_sha256": "not-a-hash"},
        {"received_at": "9999-12-31T23:59:59-05:00"},
        {"published_at": "0001-01-01T00:00:00+05:00"},
    ],
    ids=repr,
)
def test_article_limits(changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Article.model_validate(_article(**changes))


@pytest.mark.parametrize(
    "changes",
    [
        {"score": "NaN"},
        {"score": "Infinity"},
        {"score": float("inf")},
        {"evidence": {"lexical": "nan"}},
        {"story_id": ""},
        {"story_id": "s" * 201},
        {"canonical_id": "c" * 201},
        {"duplicate_of": "d\x00"},
    ],
    ids=repr,
)
def test_annotated_limits(changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        AnnotatedArticle.model_validate(_annotated(**changes))


def test_display_text_is_cleaned_not_refused() -> None:
    article = Article.model_validate(_article(title="\x1b]0;x\x07Hello \x1b[31mworld"))
    assert article.title == "Hello world"
    raw = RawArticle.model_validate(
        {"id": "r", "source": "s", "url": "u", "body": "b", "title": "\x1b[2Jhi"}
    )
    assert raw.title == "hi"


def test_dead_letters_keep_a_truncated_head_with_size_and_hash() -> None:
    original = b'{"body": "' + b"x" * 5000 + b'"}'
    letter = DeadLetter.wrap(
        original,
        stage="ingest",
        reason="too-large",
        error="",
        attempts=1,
        source_stream="raw",
        source_id="1-0",
        max_payload_bytes=1024,
    )
    assert letter.truncated and len(letter.original_bytes()) == 1024
    assert letter.payload_size == len(original)
    assert letter.payload_sha256 == hashlib.sha256(original).hexdigest()
    whole = DeadLetter.wrap(
        b"{}",
        stage="ingest",
        reason="x",
        error="",
        attempts=1,
        source_stream="raw",
        source_id="1-0",
        max_payload_bytes=1024,
    )
    assert not whole.truncated and whole.original_bytes() == b"{}"


def test_ingest_refuses_to_emit_an_entry_past_the_message_limit() -> None:
    from wiredesk.validation import check_output_size

    article = Article.model_validate(_article(text="word " * 1000))
    check_output_size(article, 100_000)
    with pytest.raises(MalformedMessage, match="output-too-large") as caught:
        check_output_size(article, 2_000)
    assert caught.value.reason == "output-too-large"


def test_an_entry_labelled_as_another_message_is_refused() -> None:
    import orjson

    from wiredesk.messages import decode_entry

    data = orjson.dumps(_article())
    assert decode_entry({b"data": data}, Article, max_bytes=10**6).id == "a1"
    assert decode_entry({b"schema": b"article.v1", b"data": data}, Article, max_bytes=10**6)
    with pytest.raises(MalformedMessage) as caught:
        decode_entry({b"schema": b"raw.v1", b"data": data}, Article, max_bytes=10**6)
    assert caught.value.reason == "schema-mismatch"

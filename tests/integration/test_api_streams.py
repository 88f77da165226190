"""Operator reads on a real Redis: following a stream, listing and replaying dead letters."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from wiredesk.dlq import read_letters, replay
from wiredesk.messages import DeadLetter, RawArticle, encode_entry
from wiredesk.settings import WiredeskSettings
from wiredesk.tail import follow, resolve_stream

pytestmark = pytest.mark.integration


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(redis_url)
    yield connection
    connection.close()


def test_follow_from_start_stops_after_count_and_parses_entries(
    client: redis.Redis, settings: WiredeskSettings
) -> None:
    stream = resolve_stream(settings.streams, "raw")
    for i in range(3):
        client.xadd(stream, encode_entry(RawArticle(id=f"r{i}", source="s", url="u", body="b")))  # type: ignore[arg-type]
    got = list(follow(client, stream, from_start=True, count=2, block_ms=100))
    assert [e.data["id"] for e in got] == ["r0", "r1"]
    assert got[0].schema == "raw.v1" and "raw.v1" in got[0].summary()


def test_follow_without_from_start_sees_only_new_entries(
    client: redis.Redis, settings: WiredeskSettings
) -> None:
    stream = settings.streams.unique
    client.xadd(stream, {"data": b"{}"})
    reader = follow(client, stream, count=1, block_ms=100)
    client.xadd(stream, {"data": b'{"new": true}'})
    assert next(reader).data == {"new": True}


def test_replay_readds_the_original_once_and_removes_the_letter(
    client: redis.Redis, settings: WiredeskSettings
) -> None:
    raw, dlq = settings.streams.raw, settings.streams.dlq
    original = RawArticle(id="x", source="s", url="u", body="body").to_json()
    for reason in ("too-short", "invalid-json"):
        letter = DeadLetter.wrap(
            original,
            stage="ingest",
            reason=reason,
            error="e",
            attempts=1,
            source_stream=raw,
            source_id="1-0",
        )
        client.xadd(dlq, encode_entry(letter))  # type: ignore[arg-type]
    letters = read_letters(client, dlq, reason="too-short")
    assert [item.letter.reason for item in letters if item.letter] == ["too-short"]
    assert len(replay(client, dlq, letters)) == 1
    assert replay(client, dlq, letters) == []  # idempotent: the letter is gone
    ((_, fields),) = client.xrange(raw)
    assert fields == {b"schema": b"raw.v1", b"data": original}
    assert [item.letter.reason for item in read_letters(client, dlq) if item.letter] == [
        "invalid-json"
    ]

"""The atomic commit, reclaim and dead-letter primitives, against a real redis-server."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from wiredesk.messages import DeadLetter, RawArticle, decode_entry, encode_entry
from wiredesk.settings import WiredeskSettings
from wiredesk.streaming import (
    COMMIT_ALREADY_ACKED,
    COMMIT_DONE,
    COMMIT_DUPLICATE,
    Commit,
    Emit,
    Entry,
    StreamCommitter,
    delivery_counts,
    ensure_group,
    reclaim,
)

pytestmark = pytest.mark.integration


async def read_one(aredis: Redis, stream: str, group: str, consumer: str) -> Entry:
    ((_, [(entry_id, fields)]),) = await aredis.xreadgroup(group, consumer, {stream: ">"}, count=1)
    return Entry(entry_id.decode(), fields)


@pytest.fixture
async def setup(aredis: Redis, settings: WiredeskSettings) -> tuple[StreamCommitter, str, str]:
    raw, out = settings.streams.raw, settings.streams.normalized
    await ensure_group(aredis, raw, "g")
    await ensure_group(aredis, raw, "g")  # idempotent
    return StreamCommitter(aredis, input_stream=raw, group="g"), raw, out


async def test_commit_acks_and_emits_together(
    aredis: Redis, setup: tuple[StreamCommitter, str, str]
) -> None:
    committer, raw, out = setup
    await aredis.xadd(raw, {b"data": b"{}"})
    entry = await read_one(aredis, raw, "g", "c1")
    assert await committer.apply([Commit(entry.id, [Emit(out, {b"data": b"x"})])]) == [COMMIT_DONE]
    assert await aredis.xlen(out) == 1
    assert (await aredis.xpending(raw, "g"))["pending"] == 0


async def test_a_redelivered_entry_produces_no_second_output(
    aredis: Redis, setup: tuple[StreamCommitter, str, str]
) -> None:
    committer, raw, out = setup
    await aredis.xadd(raw, {b"data": b"{}"})
    entry = await read_one(aredis, raw, "g", "c1")
    commit = Commit(entry.id, [Emit(out, {b"data": b"x"})])
    results = await asyncio.gather(committer.apply([commit]), committer.apply([commit]))
    assert sorted(r for (r,) in results) == [COMMIT_ALREADY_ACKED, COMMIT_DONE]
    assert await aredis.xlen(out) == 1


async def test_once_key_drops_a_second_copy_of_the_same_input(
    aredis: Redis, setup: tuple[StreamCommitter, str, str], settings: WiredeskSettings
) -> None:
    committer, raw, out = setup
    for _ in range(2):
        await aredis.xadd(raw, {b"data": b"{}"})
    first = await read_one(aredis, raw, "g", "c1")
    second = await read_one(aredis, raw, "g", "c1")
    key = settings.key("seen", "x")
    results = await committer.apply(
        [
            Commit(first.id, [Emit(out, {b"data": b"x"})], once_key=key, once_ttl_ms=60_000),
            Commit(second.id, [Emit(out, {b"data": b"x"})], once_key=key, once_ttl_ms=60_000),
        ]
    )
    assert results == [COMMIT_DONE, COMMIT_DUPLICATE]
    assert await aredis.xlen(out) == 1
    assert (await aredis.xpending(raw, "g"))["pending"] == 0
    assert 0 < await aredis.pttl(key) <= 60_000


async def test_group_created_late_still_sees_earlier_entries(
    aredis: Redis, settings: WiredeskSettings
) -> None:
    stream = settings.streams.unique
    await aredis.xadd(stream, {b"data": b"early"})
    await ensure_group(aredis, stream, "late")
    entry = await read_one(aredis, stream, "late", "c")
    assert entry.fields[b"data"] == b"early"


async def test_reclaim_takes_over_idle_entries_with_their_delivery_count(
    aredis: Redis, setup: tuple[StreamCommitter, str, str]
) -> None:
    _, raw, _ = setup
    for n in range(3):
        await aredis.xadd(raw, {b"data": str(n).encode()})
    await aredis.xreadgroup("g", "dead-consumer", {raw: ">"}, count=3)
    assert await reclaim(aredis, stream=raw, group="g", consumer="live", min_idle_ms=60_000) == []
    await asyncio.sleep(0.05)
    claimed = await reclaim(aredis, stream=raw, group="g", consumer="live", min_idle_ms=10)
    assert [e.fields[b"data"] for e in claimed] == [b"0", b"1", b"2"]
    assert all(e.deliveries == 2 for e in claimed)
    counts = await delivery_counts(aredis, raw, "g", [e.id for e in claimed])
    assert set(counts.values()) == {2}


async def test_dead_letter_keeps_the_payload_and_acks(
    aredis: Redis, setup: tuple[StreamCommitter, str, str], settings: WiredeskSettings
) -> None:
    committer, raw, _ = setup
    original = encode_entry(RawArticle(id="x", source="s", url="u", body="b"))
    await aredis.xadd(raw, original)  # type: ignore[arg-type]
    entry = await read_one(aredis, raw, "g", "c1")
    await committer.dead_letter(
        entry, dlq_stream=settings.streams.dlq, stage="ingest", reason="too-short", error="1 word"
    )
    ((_, fields),) = await aredis.xrange(settings.streams.dlq)
    letter = decode_entry(fields, DeadLetter, max_bytes=100_000)
    assert (letter.reason, letter.stage, letter.source_id) == ("too-short", "ingest", entry.id)
    assert letter.original_bytes() == original[b"data"]
    assert (await aredis.xpending(raw, "g"))["pending"] == 0

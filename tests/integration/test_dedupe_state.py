"""The shared dedupe log: conflicting commits are refused, replicas converge on one history."""

from __future__ import annotations

import numpy as np
import pytest
from redis.asyncio import Redis

from services.dedupe.features import Features
from services.dedupe.index import Record, StoryIndex
from services.dedupe.state import Conflict, DedupeLog, Item, NotPending, encode_record
from wiredesk.settings import WiredeskSettings
from wiredesk.streaming import ensure_group, parse_entries

pytestmark = pytest.mark.integration

ANNOTATED = b'{"schema":"annotated.v1"}'
"""An output payload: these tests are about the head, so only its label matters."""


def make_log(aredis: Redis, settings: WiredeskSettings) -> DedupeLog:
    return DedupeLog(
        aredis,
        log_key=settings.key("dedupe", "log"),
        head_key=settings.key("dedupe", "head"),
        input_stream=settings.streams.normalized,
        group="dedupe",
        annotated_stream=settings.streams.annotated,
        unique_stream=settings.streams.unique,
    )


def record(article_id: str) -> Record:
    return Record(
        article_id, article_id, Features(f"sha-{article_id}", np.arange(8, dtype=np.uint64)), 0
    )


async def pending_entries(aredis: Redis, settings: WiredeskSettings, n: int) -> list[str]:
    stream = settings.streams.normalized
    await ensure_group(aredis, stream, "dedupe")
    for i in range(n):
        await aredis.xadd(stream, {b"data": str(i).encode()})
    ((_, rows),) = await aredis.xreadgroup("dedupe", "c", {stream: ">"}, count=n)
    return [r[0].decode() for r in rows]


async def test_second_replica_with_a_stale_head_is_refused_then_converges(
    aredis: Redis, settings: WiredeskSettings
) -> None:
    ids = await pending_entries(aredis, settings, 2)
    replica_a, replica_b = make_log(aredis, settings), make_log(aredis, settings)
    index_a, index_b = StoryIndex(bands=2), StoryIndex(bands=2)
    await replica_a.catch_up(index_a)
    await replica_b.catch_up(index_b)

    await replica_a.commit([Item(ids[0], record("x"), ANNOTATED, ANNOTATED)], trim_before_ms=None)
    with pytest.raises(Conflict):
        await replica_b.commit([Item(ids[1], record("y"), ANNOTATED, b"")], trim_before_ms=None)
    assert await aredis.xlen(settings.streams.annotated) == 1  # the refused commit wrote nothing

    await replica_b.catch_up(index_b)
    assert "x" in index_b
    await replica_b.commit([Item(ids[1], record("y"), ANNOTATED, b"")], trim_before_ms=None)
    await replica_a.catch_up(index_a)
    await replica_b.catch_up(index_b)
    assert "y" in index_a and len(index_a) == len(index_b) == 2
    assert await aredis.xlen(settings.streams.annotated) == 2
    assert await aredis.xlen(settings.streams.unique) == 1
    assert (await aredis.xpending(settings.streams.normalized, "dedupe"))["pending"] == 0


async def test_a_batch_with_an_entry_finished_elsewhere_writes_nothing(
    aredis: Redis, settings: WiredeskSettings
) -> None:
    ids = await pending_entries(aredis, settings, 2)
    await aredis.xack(settings.streams.normalized, "dedupe", ids[1])
    log = make_log(aredis, settings)
    with pytest.raises(NotPending) as caught:
        await log.commit(
            [
                Item(ids[0], record("x"), ANNOTATED, ANNOTATED),
                Item(ids[1], record("y"), ANNOTATED, b""),
            ],
            trim_before_ms=None,
        )
    assert caught.value.entry_id == ids[1]
    assert await aredis.xlen(settings.streams.annotated) == 0
    assert await aredis.xlen(settings.key("dedupe", "log")) == 0


async def test_log_records_round_trip_with_their_signatures(
    aredis: Redis, settings: WiredeskSettings
) -> None:
    (entry_id,) = await pending_entries(aredis, settings, 1)
    log = make_log(aredis, settings)
    vector = np.linspace(-1, 1, 384, dtype=np.float32)
    vector /= np.linalg.norm(vector)
    features = Features(
        "sha",
        np.array([1, 2**63, 5], dtype=np.uint64),
        vector,
        {7: 0.6, 2**32 - 1: 0.8},
        opening="Headline\n\nKYIV (Reuters) - Körper",
    )
    await log.commit(
        [Item(entry_id, Record("x", "story", features, 0), ANNOTATED, b"")], trim_before_ms=None
    )
    index = StoryIndex(bands=1)
    assert await make_log(aredis, settings).catch_up(index) == 1
    restored = index.get("x")
    assert restored is not None and restored.story_id == "story"
    assert np.array_equal(restored.features.signature, features.signature)
    assert restored.features.vector is not None
    assert float(restored.features.vector @ vector) > 0.9999  # float16 in the log
    assert restored.features.terms == pytest.approx({7: 0.6, 2**32 - 1: 0.8}, abs=1e-3)
    assert restored.features.opening == features.opening  # what a replica embeds lazily
    assert restored.seen_ms > 0


async def test_a_seeded_log_replays_like_a_committed_one(
    aredis: Redis, settings: WiredeskSettings
) -> None:
    ids = await pending_entries(aredis, settings, 2)
    stale = make_log(aredis, settings)
    await stale.catch_up(StoryIndex(bands=2))  # before the seed: its head is 0-0
    seeder = make_log(aredis, settings)
    records = [record("a"), record("b"), record("c")]
    head = await seeder.seed(records)

    rows = parse_entries(await aredis.xrange(settings.key("dedupe", "log")))
    assert [fields for _, fields in rows] == [encode_record(r) for r in records]
    assert head == rows[-1][0] == (await aredis.get(settings.key("dedupe", "head"))).decode()
    assert await seeder.seed([]) == head  # nothing to add: the head stays
    assert seeder.applied == "0-0"  # seeding applies nothing

    replica, index = make_log(aredis, settings), StoryIndex(bands=2)
    assert await replica.catch_up(index) == 3
    assert replica.applied == head and all(r.article_id in index for r in records)
    with pytest.raises(Conflict):  # a replica that had not seen the seed decides again
        await stale.commit([Item(ids[0], record("x"), ANNOTATED, b"")], trim_before_ms=None)
    await replica.commit([Item(ids[0], record("x"), ANNOTATED, b"")], trim_before_ms=None)
    assert await aredis.xlen(settings.key("dedupe", "log")) == 4

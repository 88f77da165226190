"""The entries every Redis-to-Redis stage adds have the one layout consumers parse.

Each stage's output is written by a Lua script from a field list Python encoded
(``wiredesk.streaming.EMIT_LUA``); this checks the result on the streams, stage by stage, against
the layout spelled out here independently: fields ``schema``, ``data`` and, when traced,
``traceparent``, in that order, the label naming the payload's own version. It also reads the
stored forms earlier versions left in Redis (an embargo hold, a partitioned outbox): those must
come out with the same layout after an upgrade.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from redis.asyncio import Redis

from services.dedupe.partitioned import PartitionedDedupe
from services.dedupe.settings import DedupeSettings
from services.dedupe.stage import DedupeStage
from services.ingest.embargo import member_of
from services.ingest.normalize import normalize
from services.ingest.settings import IngestSettings
from services.ingest.stage import IngestStage
from services.poller.state import FeedState
from services.store.settings import StoreSettings
from services.store.stage import StoreStage
from tests.lifecycle_story import story_items
from wiredesk import tracing
from wiredesk.keys import Keys
from wiredesk.messages import RawArticleV2, encode_entry
from wiredesk.replay import publish
from wiredesk.service import Stage, StageRunner
from wiredesk.settings import WiredeskSettings
from wiredesk.streaming import ensure_group, parse_entries, read_new

pytestmark = pytest.mark.integration

TRACEPARENT = re.compile(rb"00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}")


async def layout_of(redis: Redis, stream: str) -> list[tuple[list[bytes], bytes]]:
    """(field names in order, schema label) of every entry, after checking the label is the
    payload's own and a traceparent, when there, is one."""
    out = []
    for _, fields in parse_entries(await redis.xrange(stream) or []):
        assert orjson.loads(fields[b"data"])["schema"].encode() == fields[b"schema"]
        if b"traceparent" in fields:
            assert TRACEPARENT.fullmatch(fields[b"traceparent"])
        out.append((list(fields), fields[b"schema"]))
    return out


def expected(label: bytes, n: int, *, traced: bool) -> list[tuple[list[bytes], bytes]]:
    names = [b"schema", b"data", b"traceparent"] if traced else [b"schema", b"data"]
    return [(names, label)] * n


async def drain(runner: StageRunner) -> None:
    """Every entry waiting on the stage's input through the runner, as the subscriber would."""
    await runner.start()
    try:
        while entries := await read_new(
            runner.redis,
            stream=runner.stage.input_stream,
            group=runner.stage.group,
            consumer=runner.settings.consumer,
            count=50,
        ):
            await runner.process(entries)
    finally:
        await runner.stop()


@pytest.fixture(params=[False, True], ids=["untraced", "traced"])
def traced(request: pytest.FixtureRequest) -> Iterator[bool]:
    if request.param:
        tracing.configure("test", exporter=InMemorySpanExporter())
    yield bool(request.param)
    if request.param:
        tracing.shutdown()


async def test_ingest_dedupe_and_store_write_the_layout_and_the_store_acks_after_its_commit(
    settings: WiredeskSettings, aredis: Redis, tmp_path: Path, traced: bool
) -> None:
    common = settings.model_dump(exclude={"consumer"}) | {"consumer": "layout"}
    ingest = IngestSettings(**common)
    dedupe = DedupeSettings(**common, semantic=False)
    store = StoreSettings(**common, database_url=f"sqlite:///{tmp_path / 'store.db'}")
    items = story_items()
    assert await publish(aredis, settings.streams.raw, items.values()) == len(items)
    stages: list[tuple[Stage, WiredeskSettings]] = [
        (IngestStage(ingest), ingest),
        (DedupeStage(dedupe), dedupe),
        (StoreStage(store), store),
    ]
    for stage, stage_settings in stages:
        await drain(StageRunner(stage, stage_settings))

    streams = settings.streams
    assert await layout_of(aredis, streams.normalized) == expected(
        b"article.v2", len(items), traced=traced
    )
    # the late copy of a1 is acked with no output: five annotated, one unique per story
    annotated = await layout_of(aredis, streams.annotated)
    assert annotated == expected(b"annotated.v2", len(items) - 1, traced=traced)
    unique = await layout_of(aredis, streams.unique)
    assert unique and unique == expected(b"annotated.v2", len(unique), traced=traced)
    events = await layout_of(aredis, streams.stories)
    assert events and events == expected(b"story.v1", len(events), traced=traced)
    pending = await aredis.xpending(streams.annotated, store.groups.store)
    assert pending["pending"] == 0  # the store acked every entry it committed


async def test_a_held_item_is_stored_in_the_previous_form_and_released_with_the_layout(
    settings: WiredeskSettings, aredis: Redis
) -> None:
    s = IngestSettings(**settings.model_dump())
    keys = Keys.from_settings(s)
    stage = IngestStage(s, keys=keys)
    await ensure_group(aredis, keys.raw(0), s.groups.ingest)
    await stage.setup(aredis)
    try:
        raw = RawArticleV2(
            id="held-1",
            source="wire",
            url="urn:wire:held-1",
            title="Rates rise at noon",
            body="The central bank raised its main rate by a quarter point on Tuesday. " * 4,
            guid="urn:wire:held-1",
            version="1",
            embargoed=datetime.now(UTC) + timedelta(seconds=30),
            format="ninjs-2.1",
        )
        entry_id = await aredis.xadd(keys.raw(0), encode_entry(raw))  # type: ignore[arg-type]
        await stage.handle(
            await read_new(
                aredis, stream=keys.raw(0), group=s.groups.ingest, consumer="c", count=10
            )
        )
        member = member_of(entry_id.decode()).encode()
        stored = await aredis.hgetall(keys.embargo_items())
        # the hash holds what every earlier version wrote and read (a rolling upgrade mixes them)
        assert set(stored) == {b"s:" + member, b"d:" + member}
        assert stored[b"s:" + member] == b"article.v2"
        held_data = stored[b"d:" + member]

        # one held by the previous version, by hand, in its form, due now
        previous = b"00000000000000000001-00000000000000000000"
        await aredis.hset(
            keys.embargo_items(),
            mapping={b"d:" + previous: held_data, b"s:" + previous: b"article.v2"},
        )
        await aredis.zadd(keys.embargo(), {previous: 1})
        await aredis.zadd(keys.embargo(), {member: 1})  # and the new one falls due too
        assert stage.embargo_hold is not None
        released = await stage.embargo_hold.release(10)
        assert released.released == 2 and released.held == 0
        assert await aredis.hlen(keys.embargo_items()) == 0
        out = parse_entries(await aredis.xrange(keys.normalized(0)) or [])
        assert [list(f.items()) for _, f in out] == [
            [(b"schema", b"article.v2"), (b"data", held_data)]
        ] * 2
    finally:
        await stage.close()


async def test_partitioned_dedupe_writes_the_layout_and_finishes_an_outbox_of_the_previous_form(
    settings: WiredeskSettings, aredis: Redis
) -> None:
    dedupe = DedupeSettings(**{**settings.model_dump(), "semantic": False, "partitions": 2})
    keys = Keys.from_settings(dedupe)
    shared = PartitionedDedupe(DedupeStage(dedupe, keys=keys), keys)
    (view,) = shared.views([0])
    await view.setup(aredis)
    try:
        items = story_items()
        stream = keys.normalized(0)
        await ensure_group(aredis, stream, dedupe.groups.dedupe)
        for name in ("a1", "c1", "b1"):
            await aredis.xadd(stream, encode_entry(normalize(items[name])))  # type: ignore[arg-type]
        await view.handle(
            await read_new(
                aredis, stream=stream, group=dedupe.groups.dedupe, consumer="c", count=10
            )
        )
        assert await layout_of(aredis, keys.annotated(0)) == expected(
            b"annotated.v2", 3, traced=False
        )
        unique = await layout_of(aredis, keys.unique)
        assert unique and unique == expected(b"annotated.v2", len(unique), traced=False)

        # an entry a replica of the previous version decided: its outbox value is the JSON
        first = parse_entries(await aredis.xrange(keys.annotated(0), count=1) or [])[0][1]
        pending_id = await aredis.xadd(stream, encode_entry(normalize(items["a2"])))  # type: ignore[arg-type]
        await read_new(aredis, stream=stream, group=dedupe.groups.dedupe, consumer="c", count=10)
        await aredis.hset(keys.dedupe_outbox(0), pending_id, first[b"data"])
        assert await shared.sweep(0) == 1
        last = parse_entries(await aredis.xrevrange(keys.annotated(0), count=1) or [])[0][1]
        assert list(last.items()) == [(b"schema", b"annotated.v2"), (b"data", first[b"data"])]
        assert await aredis.hlen(keys.dedupe_outbox(0)) == 0
    finally:
        await view.close()


@pytest.mark.parametrize("atomic", [True, False], ids=["one-script", "two-step"])
async def test_the_poller_publishes_the_layout_on_both_paths(
    settings: WiredeskSettings, aredis: Redis, atomic: bool
) -> None:
    state = FeedState(aredis, settings.key_prefix, "http://feed.invalid/rss", atomic=atomic)
    raw = RawArticleV2(
        id="feed-1", source="feed", url="urn:feed:1", title="T", body="B", guid="g1", version="1"
    )
    entry = encode_entry(raw)
    stream = settings.streams.raw
    assert await state.publish(stream, "g1", previous="", record="1|x", entry=entry)
    assert not await state.publish(stream, "g1", previous="", record="1|x", entry=entry)
    out = parse_entries(await aredis.xrange(stream) or [])
    assert [list(f.items()) for _, f in out] == [[(b"schema", b"raw.v2"), (b"data", raw.to_json())]]

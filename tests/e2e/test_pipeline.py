"""The services as separate processes: seeds through the whole pipeline, twice."""

from __future__ import annotations

import os
import subprocess
import sys

import orjson
import pytest
from redis.asyncio import Redis

from services.store.sqlite import SqliteStore
from tests.conftest import ROOT, SEEDS
from tests.e2e.helpers import drained, wait_until
from wiredesk.app.files import read_articles
from wiredesk.app.launcher import ServiceProcesses
from wiredesk.messages import DeadLetter, RawArticle, decode_entry, encode_entry
from wiredesk.replay import publish
from wiredesk.settings import WiredeskSettings

pytestmark = pytest.mark.e2e


async def annotated_story_ids(aredis: Redis, stream: str) -> list[str]:
    return [orjson.loads(f[b"data"])["story_id"] for _, f in await aredis.xrange(stream)]


async def test_seeds_flow_through_and_a_second_replay_changes_nothing(
    pipeline: ServiceProcesses,
    aredis: Redis,
    settings: WiredeskSettings,
    service_env: dict[str, str],
) -> None:
    streams = settings.streams
    seeds = list(read_articles([SEEDS], source="seeds"))
    store = SqliteStore.from_url(service_env["WIREDESK_DATABASE_URL"])
    store.migrate()

    async def stored_all() -> bool:
        return store.count_articles() == 5

    await publish(aredis, streams.raw, seeds)
    await wait_until(stored_all, what="5 stored articles", services=pipeline)

    story_ids = await annotated_story_ids(aredis, streams.annotated)
    assert len(story_ids) == 5
    unique = [orjson.loads(f[b"data"]) for _, f in await aredis.xrange(streams.unique)]
    assert sorted(u["story_id"] for u in unique) == sorted(set(story_ids))  # one per story
    (story,) = store.stories()  # five rewrites of one Reuters report: one story
    assert story.size == 5
    canonical = store.article(story.canonical_id)
    assert canonical is not None
    assert canonical.url == "002_8e2c37cbc6ca76d6.txt"  # the Reuters text, with its dateline
    assert {m.url for s in store.stories() for m in store.members(s.story_id)} == {
        p.name for p in SEEDS.glob("*.txt")
    }

    await publish(aredis, streams.raw, seeds)
    for stream, group in (
        (streams.raw, "ingest"),
        (streams.normalized, "dedupe"),
        (streams.annotated, "store"),
    ):

        async def done(stream: str = stream, group: str = group) -> bool:
            return await drained(aredis, stream, group)

        await wait_until(done, what=f"{group} drained", services=pipeline)
    assert await aredis.xlen(streams.annotated) == 5
    assert await aredis.xlen(streams.unique) == len(set(story_ids))
    assert store.count_articles() == 5
    assert await aredis.xlen(streams.dlq) == 0


async def test_malformed_input_is_dead_lettered_while_good_articles_flow(
    pipeline: ServiceProcesses,
    aredis: Redis,
    settings: WiredeskSettings,
    service_env: dict[str, str],
) -> None:
    streams = settings.streams
    good = list(read_articles([SEEDS], source="seeds"))[:2]
    poison: list[tuple[dict[bytes, bytes], str]] = [
        ({b"data": b"{not json"}, "invalid-json"),
        ({b"data": b'{"id": "x"}'}, "schema-violation"),
        ({b"nothing": b"here"}, "missing-data"),
        (encode_entry(RawArticle(id="short", source="s", url="u", body="Too short.")), "too-short"),
        (encode_entry(RawArticle(id="empty", source="s", url="u", body=" \n\t ")), "empty"),
    ]
    await aredis.xadd(streams.raw, encode_entry(good[0]))  # type: ignore[arg-type]
    for fields, _ in poison:
        await aredis.xadd(streams.raw, fields)  # type: ignore[arg-type]
    await aredis.xadd(streams.raw, encode_entry(good[1]))  # type: ignore[arg-type]
    store = SqliteStore.from_url(service_env["WIREDESK_DATABASE_URL"])
    store.migrate()

    async def settled() -> bool:
        return store.count_articles() == 2 and await aredis.xlen(streams.dlq) == len(poison)

    await wait_until(settled, what="2 stored + dead letters", services=pipeline)
    letters = [
        decode_entry(f, DeadLetter, max_bytes=10**6) for _, f in await aredis.xrange(streams.dlq)
    ]
    assert [letter.reason for letter in letters] == [reason for _, reason in poison]
    assert all(letter.stage == "ingest" for letter in letters)
    assert letters[0].original_bytes() == b"{not json"
    assert await drained(aredis, streams.raw, "ingest")


def test_demo_runs_the_pipeline_on_an_embedded_redis_and_lists_every_seed() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "WIREDESK_REDIS_URL")}
    env["COLUMNS"] = "200"
    result = subprocess.run(
        [sys.executable, "-m", "wiredesk", "demo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for seed in SEEDS.glob("*.txt"):
        assert seed.name in result.stdout
    assert "from 5 articles" in result.stdout

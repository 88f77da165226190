"""examples/story_copy.py builds, from ``articles:stories`` alone, the copy of every story that
dedupe decided: after a run with a new version, a kill of one item and a story killed whole,
the copy equals the stories in dedupe's state (a fresh replica replaying the log) and the
final annotated entries; a redelivered old event changes nothing.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from redis.asyncio import Redis

from services.dedupe.settings import DedupeSettings
from services.dedupe.stage import DedupeStage
from services.store.db import open_store
from services.store.settings import StoreSettings
from services.store.stage import StoreStage
from tests.conftest import ROOT
from tests.integration.test_dedupe_lifecycle import drain, run_steps
from tests.lifecycle_story import FORMATS, STEPS, _ninjs, entries, story_items
from wiredesk.service import StageRunner
from wiredesk.settings import WiredeskSettings
from wiredesk.streaming import parse_entries

pytestmark = pytest.mark.integration

NTB = FORMATS / "ninjs" / "3.0" / "ntb_text.json"


async def run_example(settings: WiredeskSettings, out: Path, group: str = "copy") -> list[str]:
    command = [
        sys.executable,
        str(ROOT / "examples" / "story_copy.py"),
        "--redis-url",
        settings.redis_url,
        "--stream",
        settings.streams.stories,
        "--group",
        group,
        "--consumer",
        "copy-1",
        "--out",
        str(out),
        "--until-idle",
        "1",
    ]
    done = await asyncio.to_thread(
        subprocess.run,
        command,
        cwd=ROOT,
        env={**os.environ},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.splitlines()


async def dedupe_stories(settings: WiredeskSettings) -> dict[str, dict[str, Any]]:
    """What dedupe decided, from its log: a new replica's stories."""
    stage = DedupeStage(DedupeSettings(**settings.model_dump(), semantic=False))
    client = Redis.from_url(settings.redis_url)
    try:
        await stage.setup(client)
        assert stage.lifecycle is not None
        return {
            sid: {
                "revision": st.revision,
                "members": len(st.live),
                "canonical": st.canonical if st.live else None,
            }
            for sid, st in stage.lifecycle.stories.items()
        }
    finally:
        await stage.close()
        await client.aclose()


def copy_view(copy: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        sid: {
            "revision": s["revision"],
            "members": s["members"],
            "canonical": s["canonical"]["id"] if s["canonical"] else None,
        }
        for sid, s in copy.items()
    }


async def test_the_example_copy_equals_what_dedupe_decided(
    settings: WiredeskSettings, aredis: Redis, tmp_path: Path
) -> None:
    items = story_items()
    ntb = _ninjs(NTB, source="ntb")
    ntb_kill = _ninjs(
        NTB,
        source="ntb",
        version="7",  # the sample is version 6
        pubStatus="canceled",
        bodies=[{"role": "main", "contentType": "text/plain", "value": "Kill."}],
    )
    raws = [items[n] for n in STEPS] + [ntb, ntb_kill]
    await run_steps(settings, aredis, raws, replicas=2)
    out = tmp_path / "stories.json"
    shown = await run_example(settings, out)
    assert len(shown) == 7  # 5 events of the wire story, created + killed of NTB's
    copy = json.loads(out.read_text())
    decided = await dedupe_stories(settings)
    assert copy_view(copy) == decided
    assert copy[ntb.id]["killed"] and copy[ntb.id]["members"] == 0
    assert copy[items["a1"].id]["members"] == 2 and not copy[items["a1"].id]["killed"]
    # the final annotated entry of each story says the same
    final: dict[str, dict[str, Any]] = {}
    for doc in await entries(aredis, settings.streams.annotated):
        if doc["story_revision"] > final.get(doc["story_id"], {}).get("story_revision", 0):
            final[doc["story_id"]] = doc
    for sid, doc in final.items():
        assert copy[sid]["revision"] == doc["story_revision"]
        assert copy[sid]["members"] == doc["story_members"]
        if copy[sid]["canonical"] is not None:
            assert copy[sid]["canonical"]["id"] == doc["canonical_id"]
    # an old event delivered again (a replay of the stream, another producer's retry) is ignored
    first = parse_entries(await aredis.xrange(settings.streams.stories, count=1) or [])[0][1]
    await aredis.xadd(settings.streams.stories, first)  # type: ignore[arg-type]
    assert await run_example(settings, out) == []
    assert json.loads(out.read_text()) == copy
    # a new group on an empty copy rebuilds the same copy from the whole stream
    fresh = tmp_path / "again.json"
    await run_example(settings, fresh, group="copy-2")
    assert json.loads(fresh.read_text()) == copy
    assert orjson.loads(first[b"data"])["revision"] == 1


async def test_the_example_copy_equals_the_store_after_updates_and_kills(
    settings: WiredeskSettings, aredis: Redis, tmp_path: Path
) -> None:
    """The issue's check: a consumer of articles:stories alone ends with what the store
    serves (canonical, live members, revision, killed or not) for every story, after a new
    version, a kill of one item, a late copy and a story killed whole."""
    items = story_items()
    ntb = _ninjs(NTB, source="ntb")
    ntb_kill = _ninjs(
        NTB,
        source="ntb",
        version="7",
        pubStatus="canceled",
        bodies=[{"role": "main", "contentType": "text/plain", "value": "Kill."}],
    )
    await run_steps(settings, aredis, [items[n] for n in STEPS] + [ntb, ntb_kill], replicas=2)
    database = f"sqlite:///{tmp_path / 'store.db'}"
    common = settings.model_dump(exclude={"consumer"})
    store_settings = StoreSettings(**common, consumer="store-1", database_url=database)
    store = StageRunner(StoreStage(store_settings), store_settings)
    await store.start()
    try:
        assert await drain(store, "store-1") == len(
            await entries(aredis, settings.streams.annotated)
        )
    finally:
        await store.stop()
    out = tmp_path / "stories.json"
    await run_example(settings, out)
    copy = json.loads(out.read_text())
    db = open_store(database)
    try:
        assert copy.keys() == {items["a1"].id, ntb.id}
        for story_id, held in copy.items():
            story = db.story(story_id)
            assert story is not None, story_id
            assert story.revision == held["revision"], story_id
            assert (story.status == "killed") == held["killed"], (story_id, story.status)
            live = [m for m in db.members(story_id) if m.status == "live"]
            assert len(live) == held["members"], story_id
            if held["canonical"] is not None:
                assert story.canonical_id == held["canonical"]["id"], story_id
        listed = {s.story_id for s in db.stories()}
        assert listed == {sid for sid, held in copy.items() if not held["killed"]}
    finally:
        db.close()

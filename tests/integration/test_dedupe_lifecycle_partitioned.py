"""The partitioned layout keeps every version a copy (lifecycles are off there this round,
docs/design.md), says so once at start, and writes no story events."""

from __future__ import annotations

import logging

import orjson
import pytest
from redis.asyncio import Redis

from services.dedupe.partitioned import PartitionedDedupe
from services.dedupe.settings import DedupeSettings
from services.dedupe.stage import DedupeStage
from services.ingest.normalize import normalize
from tests.lifecycle_story import story_items
from wiredesk.keys import Keys
from wiredesk.messages import encode_entry
from wiredesk.settings import WiredeskSettings
from wiredesk.streaming import ensure_group, parse_entries, read_new

pytestmark = pytest.mark.integration


async def test_partitioned_dedupe_treats_versions_as_copies_and_warns_once(
    settings: WiredeskSettings, aredis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    dedupe = DedupeSettings(**{**settings.model_dump(), "semantic": False, "partitions": 2})
    keys = Keys.from_settings(dedupe)
    assert keys.tagged
    shared = PartitionedDedupe(DedupeStage(dedupe, keys=keys), keys)
    assert shared.core.lifecycle is None
    views = shared.views([0, 1])
    items = story_items()
    with caplog.at_level(logging.WARNING, logger="services.dedupe.partitioned"):
        for view in views:
            await view.setup(aredis)
    warnings = [r for r in caplog.records if "lifecycles are off" in r.getMessage()]
    assert len(warnings) == 1
    stream = keys.normalized(0)
    await ensure_group(aredis, stream, "dedupe")
    for name in ("a1", "a2", "a3-kill"):
        await aredis.xadd(stream, encode_entry(normalize(items[name])))  # type: ignore[arg-type]
    entries = await read_new(aredis, stream=stream, group="dedupe", consumer="c", count=10)
    await views[0].handle(entries)
    annotated = [
        orjson.loads(f[b"data"])
        for _, f in parse_entries(await aredis.xrange(keys.annotated(0)) or [])
    ]
    assert [a["id"] for a in annotated] == [items[n].id for n in ("a1", "a2", "a3-kill")]
    assert {a["change"] for a in annotated} == {"added"}  # every version a copy, as before
    assert len({a["story_id"] for a in annotated}) <= 2
    assert await aredis.xlen(keys.stories) == 0
    for view in views:
        await view.close()

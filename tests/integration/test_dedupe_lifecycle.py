"""Items' lifecycles through the real stages on the suite's Redis: new versions, kills, late
copies, story events, with one dedupe replica and with three taking turns.

The stages run in this process, each through its StageRunner (the path the services take);
the process-level runs, with SIGKILLs, are in tests/e2e/test_lifecycle.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import pytest
from redis.asyncio import Redis

from services.dedupe.settings import DedupeSettings
from services.dedupe.stage import DedupeStage
from services.ingest.settings import IngestSettings
from services.ingest.stage import IngestStage
from tests.lifecycle_story import STEPS, check_story_run, read_run, story_items
from wiredesk.messages import RawArticle
from wiredesk.observability import PROCESSED
from wiredesk.replay import publish
from wiredesk.service import StageRunner
from wiredesk.settings import WiredeskSettings
from wiredesk.streaming import parse_entries, read_new

pytestmark = pytest.mark.integration


async def drain(runner: StageRunner, consumer: str) -> int:
    """Process what the runner's group has not read yet; returns entries handled."""
    handled = 0
    while entries := await read_new(
        runner.redis,
        stream=runner.stage.input_stream,
        group=runner.stage.group,
        consumer=consumer,
        count=50,
    ):
        await runner.process(entries)
        handled += len(entries)
    return handled


def counted(outcome: str) -> float:
    return float(PROCESSED.labels("dedupe", outcome)._value.get())


async def run_steps(
    settings: WiredeskSettings,
    aredis: Redis,
    raws: Sequence[RawArticle],
    replicas: int,
    check: Callable[[list[DedupeStage]], Awaitable[None]] | None = None,
) -> None:
    """Publish each message once the one before was decided, through ingest and dedupe
    replicas taking turns; ``check`` sees the dedupe stages before they stop."""
    common = settings.model_dump(exclude={"consumer"})
    ingest_settings = IngestSettings(**common, consumer="ingest-1")
    ingest = StageRunner(IngestStage(ingest_settings), ingest_settings)
    dedupe: list[StageRunner] = []
    for n in range(replicas):
        s = DedupeSettings(**common, consumer=f"dedupe-{n}", semantic=False)
        dedupe.append(StageRunner(DedupeStage(s), s))
    await ingest.start()
    for runner in dedupe:
        await runner.start()
    try:
        for number, raw in enumerate(raws):
            assert await publish(aredis, settings.streams.raw, [raw]) == 1
            assert await drain(ingest, "ingest-1") == 1
            runner = dedupe[number % replicas]  # the replicas take turns: each catches up
            assert await drain(runner, f"dedupe-{number % replicas}") == 1, raw.id
        if check is not None:
            await check([r.stage for r in dedupe])  # type: ignore[misc]
    finally:
        for runner in (ingest, *dedupe):
            await runner.stop()


async def replay_story(settings: WiredeskSettings, aredis: Redis, replicas: int) -> None:
    items = story_items()
    late_before = counted("late-version")

    async def agree(stages: list[DedupeStage]) -> None:
        await check_replicas_agree(stages, settings)

    await run_steps(settings, aredis, [items[n] for n in STEPS], replicas, agree)
    run = await read_run(aredis, settings.streams)
    check_story_run(run, items)
    assert counted("late-version") == late_before + 1


async def check_replicas_agree(stages: Sequence[DedupeStage], settings: WiredeskSettings) -> None:
    """Every replica, and a new one replaying the log, holds the same stories and items."""
    fresh = DedupeStage(DedupeSettings(**settings.model_dump(exclude={"consumer"}), semantic=False))
    from redis.asyncio import Redis as AsyncRedis

    client = AsyncRedis.from_url(settings.redis_url)
    try:
        await fresh.setup(client)
        for stage in stages:
            await stage.state.catch_up(stage.index, stage.lifecycle)
        views = [s.lifecycle for s in (*stages, fresh)]
        assert all(v is not None for v in views)
        summaries = {
            repr(
                sorted(
                    (sid, st.revision, st.canonical, tuple(st.live))
                    for sid, st in v.stories.items()  # type: ignore[union-attr]
                )
            )
            for v in views
        }
        assert len(summaries) == 1, summaries
        items = {repr(sorted(v.items.items())) for v in views}  # type: ignore[union-attr]
        assert len(items) == 1
    finally:
        await fresh.close()
        await client.aclose()


async def test_one_replica_versions_kill_and_late_copy(
    settings: WiredeskSettings, aredis: Redis
) -> None:
    await replay_story(settings, aredis, replicas=1)


async def test_three_replicas_taking_turns_compute_the_same_revisions(
    settings: WiredeskSettings, aredis: Redis
) -> None:
    await replay_story(settings, aredis, replicas=3)


async def test_story_events_carry_schema_and_are_valid_story_v1(
    settings: WiredeskSettings, aredis: Redis
) -> None:
    from wiredesk.story_events import StoryEvent

    await replay_story(settings, aredis, replicas=1)
    raw = parse_entries(await aredis.xrange(settings.streams.stories) or [])
    assert raw
    for _, fields in raw:
        assert fields[b"schema"] == b"story.v1"
        StoryEvent.model_validate_json(fields[b"data"])


async def test_tail_renders_story_events_one_readable_line_each(
    settings: WiredeskSettings, aredis: Redis
) -> None:
    import asyncio
    import os
    import subprocess
    import sys

    await replay_story(settings, aredis, replicas=1)
    env = {
        **os.environ,
        "REDIS_URL": settings.redis_url,
        "WIREDESK_KEY_PREFIX": settings.key_prefix,
        **settings.streams.env(),
    }
    command = [sys.executable, "-m", "wiredesk", "tail", "stories", "--from-start", "--count", "5"]
    done = await asyncio.to_thread(
        subprocess.run, command, env=env, capture_output=True, text=True, timeout=60, check=True
    )
    shown = done.stdout.splitlines()
    assert len(shown) == 5
    first, last = shown[0].split(" ", 2)[2], shown[-1].split(" ", 2)[2]
    assert first.startswith("story ") and " r1 created members=1 canonical=" in first
    assert first.endswith(" v1 added")
    assert " r5 updated members=2 " in last and last.endswith(" v3 killed")
    assert "'Lunch Taking a Toll?" in last  # the canonical's title


async def test_a_kill_of_an_unknown_item_is_counted_and_makes_older_versions_late(
    settings: WiredeskSettings, aredis: Redis
) -> None:
    items = story_items()
    kill, first = items["a3-kill"], items["a1"]  # version 3 canceled arrives before version 1
    newer = items["a2"].model_copy(update={"id": "a4", "version": "4"})
    unknown_before, late_before = counted("kill-unknown"), counted("late-version")
    await run_steps(settings, aredis, [kill, first, newer], replicas=2)
    run = await read_run(aredis, settings.streams)
    assert counted("kill-unknown") == unknown_before + 1
    assert counted("late-version") == late_before + 1
    assert [a["id"] for a in run.annotated] == ["a4"]  # the kill and the late version: nothing
    assert [(e["event"], e["revision"], e["cause"]["change"]) for e in run.events] == [
        ("created", 1, "added")
    ]
    assert [u["id"] for u in run.unique] == ["a4"]

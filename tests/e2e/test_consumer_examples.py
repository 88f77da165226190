"""The example consumers against a live pipeline: every story once, even across a restart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from redis.asyncio import Redis

from tests.conftest import DEV_SET, ROOT, SEEDS
from tests.e2e.helpers import drained, wait_until
from wiredesk.app.files import read_articles
from wiredesk.app.launcher import ServiceProcesses
from wiredesk.replay import publish
from wiredesk.settings import WiredeskSettings

pytestmark = pytest.mark.e2e

EXAMPLES = ROOT / "examples"


def start_example(
    script: str, settings: WiredeskSettings, out: Path, log: Path, *extra: str
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            str(EXAMPLES / script),
            "--redis-url",
            settings.redis_url,
            "--stream",
            settings.streams.unique,
            "--group",
            "downstream",
            "--consumer",
            "downstream-1",
            "--out",
            str(out),
            *extra,
        ],
        cwd=ROOT,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        env={**os.environ},
    )


def recorded(out: Path) -> list[str]:
    return [line.split("\t", 1)[0] for line in out.read_text().splitlines()] if out.exists() else []


async def unique_story_ids(aredis: Redis, stream: str) -> list[str]:
    return [orjson.loads(f[b"data"])["story_id"] for _, f in await aredis.xrange(stream)]


async def feed(aredis: Redis, settings: WiredeskSettings, pipeline: ServiceProcesses) -> int:
    articles = [
        *read_articles([SEEDS], source="seeds"),
        *read_articles([DEV_SET], source="onestopenglish"),
    ]
    await publish(aredis, settings.streams.raw, articles)

    async def done() -> bool:
        return await drained(aredis, settings.streams.normalized, "dedupe") and await drained(
            aredis, settings.streams.raw, "ingest"
        )

    await wait_until(done, timeout=180, what="dedupe drained", services=pipeline)
    return len(articles)


@pytest.mark.parametrize("kill", [signal.SIGKILL, signal.SIGTERM])
async def test_redis_py_consumer_gets_each_story_once_across_a_restart(
    pipeline: ServiceProcesses,
    aredis: Redis,
    settings: WiredeskSettings,
    tmp_path: Path,
    kill: signal.Signals,
) -> None:
    out, log = tmp_path / "seen.tsv", tmp_path / "consumer.log"
    # The consumer starts on a full backlog (as after downtime), so that it is certainly
    # stopped in the middle however fast the pipeline produced the stories.
    await feed(aredis, settings, pipeline)
    expected = await unique_story_ids(aredis, settings.streams.unique)
    assert len(expected) > 20
    first = start_example(
        "consume_unique_redis_py.py", settings, out, log, "--delay", "0.05", "--count", "5"
    )
    try:

        async def some() -> bool:
            return len(recorded(out)) >= 10

        await wait_until(some, timeout=60, what="the consumer's first stories")
        first.send_signal(kill)
        first.wait(timeout=20)
        assert 0 < len(recorded(out)) < len(expected), "stopped before the end: nothing to prove"
    finally:
        if first.poll() is None:
            first.kill()
    second = start_example("consume_unique_redis_py.py", settings, out, log)
    try:

        async def everything() -> bool:
            return len(recorded(out)) >= len(expected)

        await wait_until(everything, timeout=60, what="every story after the restart")
        assert sorted(recorded(out)) == sorted(expected), log.read_text()[-2000:]
        assert len(set(recorded(out))) == len(recorded(out))  # none doubled
        assert await drained(aredis, settings.streams.unique, "downstream")
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=20) == 0, log.read_text()[-2000:]


async def test_faststream_consumer_gets_each_story_once(
    pipeline: ServiceProcesses,
    aredis: Redis,
    settings: WiredeskSettings,
    tmp_path: Path,
) -> None:
    out, log = tmp_path / "seen.tsv", tmp_path / "consumer.log"
    await feed(aredis, settings, pipeline)  # published before the consumer ever ran
    expected = await unique_story_ids(aredis, settings.streams.unique)
    consumer = start_example("consume_unique_faststream.py", settings, out, log)
    try:

        async def everything() -> bool:
            return len(recorded(out)) >= len(expected)

        await wait_until(everything, timeout=60, what="every story")
        assert sorted(recorded(out)) == sorted(expected)
        stdout_lines = [line for line in log.read_text().splitlines() if "\t" in line]
        assert len(stdout_lines) == len(expected)  # one printed line per story
    finally:
        consumer.send_signal(signal.SIGTERM)
        assert consumer.wait(timeout=20) == 0, log.read_text()[-2000:]

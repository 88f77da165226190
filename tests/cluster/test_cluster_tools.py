"""Operators' tools per partition on a cluster: retention, ``wiredesk status``, ``dlq``."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import orjson
import pytest
from redis.asyncio.cluster import RedisCluster

from wiredesk.keys import Keys
from wiredesk.messages import RawArticle, encode_entry
from wiredesk.retention import trim_consumed
from wiredesk.streaming import Entry, StreamCommitter, ensure_group, read_new

pytestmark = pytest.mark.integration


async def test_retention_trims_each_partition_by_its_own_groups(
    acluster: RedisCluster, keys: Keys
) -> None:
    for p in keys.all_partitions:
        await ensure_group(acluster, keys.raw(p), "ingest")  # type: ignore[arg-type]
        for i in range(10):
            await acluster.xadd(keys.raw(p), {"data": str(i)})
    consumed = await read_new(
        acluster,  # type: ignore[arg-type]
        stream=keys.raw(1),
        group="ingest",
        consumer="c",
        count=100,
    )
    await acluster.xack(keys.raw(1), "ingest", *(e.id for e in consumed))
    results = [await trim_consumed(acluster, keys.raw(p)) for p in keys.all_partitions]  # type: ignore[arg-type]
    # only partition 1 was consumed; its last-delivered entry is the bound and stays
    assert [r.trimmed for r in results] == [0, 9, 0]
    assert [await acluster.xlen(keys.raw(p)) for p in keys.all_partitions] == [10, 1, 10]


def cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "wiredesk", *args],
        env={**os.environ, **env, "COLUMNS": "250"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout


async def test_status_and_dead_letter_tools_see_every_partition(
    acluster: RedisCluster, keys: Keys, cluster_env: dict[str, str]
) -> None:
    await ensure_group(acluster, keys.raw(2), "ingest")  # type: ignore[arg-type]
    article = RawArticle(id="a-2", source="s", url="u", body="too short")
    await acluster.xadd(keys.raw(2), encode_entry(article))  # type: ignore[arg-type]
    (entry,) = await read_new(
        acluster,  # type: ignore[arg-type]
        stream=keys.raw(2),
        group="ingest",
        consumer="c",
        count=10,
    )
    committer = StreamCommitter(acluster, input_stream=keys.raw(2), group="ingest")  # type: ignore[arg-type]
    await committer.dead_letter(
        Entry(entry.id, entry.fields),
        dlq_stream=keys.dlq(2),
        stage="ingest",
        reason="too-short",
        error="3 words",
    )

    status = cli(cluster_env, "status")
    for p in keys.all_partitions:
        assert keys.raw(p) in status
    assert "too-short" in status

    (line,) = cli(cluster_env, "dlq", "list", "--json").splitlines()
    letter = orjson.loads(line)
    assert letter["reason"] == "too-short"
    assert letter["source_stream"] == keys.raw(2)

    assert "replayed 1 of 1" in cli(cluster_env, "dlq", "replay", "--all")
    assert await acluster.xlen(keys.dlq(2)) == 0
    assert await acluster.xlen(keys.raw(2)) == 2  # the original back in its own partition
    args = ("tail", "raw", "--partition", "2", "--from-start", "--count", "2", "--json")
    tailed = [orjson.loads(line) for line in cli(cluster_env, *args).splitlines()]
    assert [t["stream"] for t in tailed] == [keys.raw(2)] * 2


async def test_replay_routes_each_article_to_its_partition_and_waits_for_a_replica(
    acluster: RedisCluster, keys: Keys, cluster_env: dict[str, str]
) -> None:
    from tests.conftest import SEEDS
    from wiredesk.partitions import partition_for

    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "wiredesk", "replay", str(SEEDS)],
        env={**os.environ, **cluster_env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "not confirmed" not in done.stderr  # WAIT 1 (the cluster default) was met
    seen = 0
    for p in keys.all_partitions:
        for _, fields in await acluster.xrange(keys.raw(p)):
            article_id = orjson.loads(fields[b"data"])["id"]
            assert partition_for(article_id, keys.partitions) == p
            seen += 1
    assert seen == 5

"""The services on a Redis Cluster with 3 partitions: seeds through the pipeline, twice."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from redis.asyncio.cluster import RedisCluster

from services.store.sqlite import SqliteStore
from tests.conftest import SEEDS
from tests.e2e.helpers import service_logs, wait_until
from wiredesk.app.files import read_articles
from wiredesk.app.launcher import ServiceProcesses
from wiredesk.cluster import make_script
from wiredesk.keys import Keys
from wiredesk.partitions import partition_for
from wiredesk.replay import publish

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]


async def drained(client: RedisCluster, stream: str, group: str) -> bool:
    """Every entry delivered to ``group`` and acknowledged."""
    if not await client.exists(stream):
        return True
    last = await client.xrevrange(stream, count=1)
    for info in await client.xinfo_groups(stream):
        if info["name"].decode() == group:
            return int(info["pending"]) == 0 and (
                not last or info["last-delivered-id"] == last[0][0]
            )
    return False


async def all_entries(client: RedisCluster, streams: list[str]) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for stream in streams:
        out.extend(orjson.loads(f[b"data"]) for _, f in await client.xrange(stream))
    return out


async def test_seeds_through_three_partitions_on_a_cluster_and_a_second_replay_changes_nothing(
    acluster: RedisCluster, keys: Keys, cluster_env: dict[str, str], tmp_path: Path
) -> None:
    seeds = list(read_articles([SEEDS], source="seeds"))
    # the seeds spread over more than one partition, so the story crosses partitions
    assert len({partition_for(a.id, keys.partitions) for a in seeds}) > 1
    store = SqliteStore.from_url(cluster_env["WIREDESK_DATABASE_URL"])
    store.migrate()
    services = ServiceProcesses(cluster_env, log_dir=tmp_path / "logs").start()
    try:

        def route(article_id: str) -> str:
            return keys.raw(partition_for(article_id, keys.partitions))

        async def stored_all() -> bool:
            return store.count_articles() == 5

        await publish(acluster, keys.raw(0), seeds, route=route)  # type: ignore[arg-type]
        await wait_until(stored_all, what="5 stored articles", services=services)
        annotated_streams = [keys.annotated(p) for p in keys.all_partitions]
        annotated = await all_entries(acluster, annotated_streams)
        assert len(annotated) == 5
        unique = [orjson.loads(f[b"data"]) for _, f in await acluster.xrange(keys.unique)]
        assert [u["story_id"] for u in unique] == list({a["story_id"] for a in annotated})
        (story,) = store.stories()  # one story although its copies crossed partitions
        assert story.size == 5

        await publish(acluster, keys.raw(0), seeds, route=route)  # type: ignore[arg-type]
        for role, group in (("raw", "ingest"), ("normalized", "dedupe"), ("annotated", "store")):
            for p in keys.all_partitions:
                stream = keys.streams_of(p)[role]

                async def done(stream: str = stream, group: str = group) -> bool:
                    return await drained(acluster, stream, group)

                await wait_until(done, what=f"{group} drained on {stream}", services=services)
        assert len(await all_entries(acluster, annotated_streams)) == 5
        assert await acluster.xlen(keys.unique) == 1
        assert store.count_articles() == 5
        assert sum([await acluster.xlen(keys.dlq(p)) for p in keys.all_partitions]) == 0
    finally:
        codes = services.stop()
    assert codes == {s: [0] for s in ("ingest", "dedupe", "store")}, service_logs(tmp_path / "logs")


async def test_every_script_of_a_partition_runs_in_one_slot(
    acluster: RedisCluster, keys: Keys
) -> None:
    """The key layout's promise: a script over one partition's keys (or the dedupe state's)
    runs on a cluster, where keys of two slots would fail with CROSSSLOT."""
    touch = make_script(acluster, "for i = 1, #KEYS do redis.call('EXISTS', KEYS[i]) end return 1")
    for p in keys.all_partitions:
        same_slot = [*keys.streams_of(p).values(), keys.seen_raw(p, "x"), keys.errors("ingest", p)]
        same_slot += [keys.embargo(p), keys.embargo_items(p)]
        assert await touch(keys=same_slot) == 1
    dedupe = [keys.dedupe_log, keys.dedupe_head, keys.unique]
    dedupe += [keys.dedupe_outbox(p) for p in keys.all_partitions]
    assert await touch(keys=dedupe) == 1
    slots = {acluster.keyslot(keys.raw(p)) for p in keys.all_partitions}
    assert len(slots) == keys.partitions  # partitions are separate slots

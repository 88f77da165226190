"""The log-first commit when a dedupe replica dies between its steps (on a real cluster).

A "death" is an exception raised at the step boundary, before anything of the next step is
sent: the process is gone, its entries stay pending, and another replica takes over, as after
a SIGKILL (the chaos test does the real SIGKILLs; this pins the two in-between states).
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from redis.asyncio.cluster import RedisCluster

from services.dedupe.partitioned import PartitionedDedupe
from services.dedupe.settings import DedupeSettings
from services.dedupe.stage import DedupeStage
from services.ingest.normalize import normalize
from services.ingest.settings import IngestSettings
from tests.conftest import SEEDS
from wiredesk.app.files import read_articles
from wiredesk.keys import Keys
from wiredesk.messages import encode_entry
from wiredesk.settings import WiredeskSettings
from wiredesk.streaming import Entry, StreamCommitter, ensure_group, read_new

pytestmark = pytest.mark.integration

PARTITION = 1


class Died(Exception):
    """The replica's process ended here."""


def replica(settings: WiredeskSettings, keys: Keys) -> PartitionedDedupe:
    dedupe = DedupeSettings(**{**settings.model_dump(), "semantic": False})
    return PartitionedDedupe(DedupeStage(dedupe, keys=keys), keys)


async def pending_entries(client: RedisCluster, keys: Keys) -> list[Entry]:
    """The entries as a taking-over replica gets them: read once by the dead consumer."""
    stream = keys.normalized(PARTITION)
    await ensure_group(client, stream, "dedupe")  # type: ignore[arg-type]
    ingest = IngestSettings()
    for raw in read_articles([SEEDS], source="seeds"):
        await client.xadd(stream, encode_entry(normalize(raw, ingest.limits())))  # type: ignore[arg-type]
    return await read_new(client, stream=stream, group="dedupe", consumer="dead", count=100)  # type: ignore[arg-type]


async def outputs(client: RedisCluster, keys: Keys) -> tuple[list[str], list[str], int, int]:
    annotated = [
        orjson.loads(f[b"data"])["id"] for _, f in await client.xrange(keys.annotated(PARTITION))
    ]
    unique = [orjson.loads(f[b"data"])["story_id"] for _, f in await client.xrange(keys.unique)]
    info: Any = await client.xpending(keys.normalized(PARTITION), "dedupe")
    outbox = await client.hlen(keys.dedupe_outbox(PARTITION))
    return annotated, unique, int(info["pending"]), int(outbox)


async def die_after_log_step(
    client: RedisCluster, settings: WiredeskSettings, keys: Keys
) -> tuple[list[Entry], list[str]]:
    """A replica decides the batch and dies after the log step; returns entries and the
    unique entries the log step wrote."""
    entries = await pending_entries(client, keys)
    dead = replica(settings, keys)
    (view,) = dead.views([PARTITION])
    await view.setup(client)  # type: ignore[arg-type]

    async def finish(*_: object) -> int:
        raise Died

    dead.finish = finish  # type: ignore[method-assign]
    with pytest.raises(Died):
        await view.handle(entries)
    annotated, unique, pending, outbox = await outputs(client, keys)
    # decided and durable (each story's unique entry, the pending outputs), nothing emitted
    assert (annotated, pending, outbox) == ([], 5, 5)
    assert unique and len(unique) == len(set(unique))
    return entries, unique


async def test_a_replica_that_takes_over_after_the_log_step_finishes_it_without_deciding_again(
    acluster: RedisCluster, cluster_settings: WiredeskSettings, keys: Keys
) -> None:
    entries, unique_before = await die_after_log_step(acluster, cluster_settings, keys)
    live = replica(cluster_settings, keys)
    (view,) = live.views([PARTITION])
    # set up without the start-up sweep (tested below): the reclaimed batch reaches handle()
    await live.setup(acluster)  # type: ignore[arg-type]
    view._committer = StreamCommitter(
        acluster,  # type: ignore[arg-type]
        input_stream=keys.normalized(PARTITION),
        group="dedupe",
    )
    await view.handle(entries)
    annotated, unique, pending, outbox = await outputs(acluster, keys)
    published = [orjson.loads(e.fields[b"data"])["id"] for e in entries]
    assert sorted(annotated) == sorted(published)
    assert (unique, pending, outbox) == (unique_before, 0, 0)  # no story published again
    await view.handle(entries)  # a slow consumer's late copy of the same batch
    assert sorted((await outputs(acluster, keys))[0]) == sorted(published)  # nothing doubled


async def test_a_starting_replica_sweeps_what_a_dead_one_decided(
    acluster: RedisCluster, cluster_settings: WiredeskSettings, keys: Keys
) -> None:
    _, unique_before = await die_after_log_step(acluster, cluster_settings, keys)
    (view,) = replica(cluster_settings, keys).views([PARTITION])
    await view.setup(acluster)  # type: ignore[arg-type]
    annotated, unique, pending, outbox = await outputs(acluster, keys)
    assert (len(annotated), len(set(annotated)), pending, outbox) == (5, 5, 0, 0)
    assert unique == unique_before

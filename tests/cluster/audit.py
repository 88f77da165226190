"""The crash tests' audit (tests/reliability/harness.py) over partitioned streams on a cluster.

The expected outcome is the same single-process run the single-node tests compare with: the
story partition of one node is what the cluster must give.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ClusterDownError, ResponseError, TryAgainError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from tests.reliability.harness import Audit, Expected, _partition, store_rows
from wiredesk.app.launcher import ServiceProcesses
from wiredesk.cluster import ReplicaWait
from wiredesk.keys import Keys
from wiredesk.messages import RawArticle, encode_entry
from wiredesk.partitions import partition_for
from wiredesk.streaming import parse_entries

GROUPS = (("raw", "ingest"), ("normalized", "dedupe"), ("annotated", "store"))
RETRY = (RedisConnectionError, RedisTimeoutError, ClusterDownError, TryAgainError)


async def publish_partitioned(
    client: RedisCluster,
    keys: Keys,
    articles: Sequence[RawArticle],
    *,
    chunk: int = 20,
    rate: float | None = None,
    wait: ReplicaWait | None = None,
) -> int:
    """A producer that routes by ``partition_for`` and retries a chunk until Redis took it
    (and, with ``wait``, until a replica has it); returns retried chunks. A retried chunk
    repeats article ids, which the pipeline must recognise as a producer's retry."""
    retries = 0
    started = time.monotonic()
    for offset in range(0, len(articles), chunk):
        part = articles[offset : offset + chunk]
        streams = [keys.raw(partition_for(a.id, keys.partitions)) for a in part]
        while True:
            try:
                async with client.pipeline(transaction=False) as pipe:
                    for stream, article in zip(streams, part, strict=True):
                        pipe.xadd(stream, encode_entry(article))  # type: ignore[arg-type]
                    await pipe.execute()
                if wait is None or await wait.confirm(streams):
                    break
            except RETRY:
                pass
            retries += 1
            await asyncio.sleep(0.2)
        if rate is not None:
            ahead = (offset + len(part)) / rate - (time.monotonic() - started)
            if ahead > 0:
                await asyncio.sleep(ahead)
    return retries


async def _group_state(client: RedisCluster, stream: str, group: str) -> tuple[int, bool]:
    try:
        groups: Any = await client.xinfo_groups(stream)
    except ResponseError:
        return 0, False
    last: Any = await client.xrevrange(stream, count=1)
    for info in groups:
        if info["name"].decode() == group:
            delivered = not last or info["last-delivered-id"] == last[0][0]
            return int(info["pending"]), delivered
    return 0, False


async def _entries(client: RedisCluster, stream: str) -> list[tuple[str, dict[bytes, bytes]]]:
    return parse_entries(await client.xrange(stream) or [])


async def settled(client: RedisCluster, keys: Keys, db: Path, expected: Expected) -> bool:
    if len(store_rows(db)) < len(expected.article_ids):
        return False
    for p in keys.all_partitions:
        for role, group in GROUPS:
            pending, delivered = await _group_state(client, keys.streams_of(p)[role], group)
            if pending or not delivered:
                return False
    return True


async def wait_settled(
    client: RedisCluster,
    keys: Keys,
    db: Path,
    expected: Expected,
    *,
    timeout: float,
    services: ServiceProcesses,
) -> float:
    started = time.monotonic()
    while True:
        try:
            if await settled(client, keys, db, expected):
                return time.monotonic() - started
        except RETRY:
            pass
        for name in services.services:
            if not services.live(name):
                raise AssertionError(f"no {name} running: {services.exit_codes()}")
        if time.monotonic() - started > timeout:
            states = {
                (p, g): await _group_state(client, keys.streams_of(p)[r], g)
                for p in keys.all_partitions
                for r, g in GROUPS
            }
            raise AssertionError(
                f"not settled after {timeout}s: stored {len(store_rows(db))}/"
                f"{len(expected.article_ids)}, (pending, delivered) {states}"
            )
        await asyncio.sleep(0.25)


async def audit(client: RedisCluster, keys: Keys, db: Path, expected: Expected) -> Audit:
    """Every promise of the single-node audit, over all partitions, plus empty outboxes."""
    result = Audit(articles=len(expected.article_ids))
    rows = store_rows(db)
    stored = [a for a, _ in rows]
    result.stored = len(stored)
    missing = expected.article_ids - set(stored)
    result.lost = len(missing)
    if missing:
        result.problems.append(f"{len(missing)} articles never stored, e.g. {sorted(missing)[:3]}")
    annotated: list[dict[str, Any]] = []
    for p in keys.all_partitions:
        annotated += [
            orjson.loads(f[b"data"]) for _, f in await _entries(client, keys.annotated(p))
        ]
    ids = [a["id"] for a in annotated]
    result.doubled = len(ids) - len(set(ids))
    if result.doubled:
        result.problems.append(f"{result.doubled} articles annotated more than once")
    if set(ids) != expected.article_ids:
        result.problems.append("annotated ids differ from the published ones")
    unique = [orjson.loads(f[b"data"])["story_id"] for _, f in await _entries(client, keys.unique)]
    result.unique_entries = len(unique)
    story_ids = {a["story_id"] for a in annotated}
    result.stories = len(story_ids)
    if len(unique) != len(set(unique)):
        result.problems.append(f"{len(unique) - len(set(unique))} stories published twice")
    if set(unique) != story_ids:
        result.problems.append("articles:unique is not exactly one entry per annotated story")
    partition = _partition([(a["id"], a["story_id"]) for a in annotated])
    if partition != expected.partition:
        result.problems.append(
            f"story partition differs from one node: {len(partition)} vs "
            f"{len(expected.partition)} stories"
        )
    if _partition(rows) != partition:
        result.problems.append("the store's partition differs from the annotated streams")
    for p in keys.all_partitions:
        for role, group in GROUPS:
            pending, delivered = await _group_state(client, keys.streams_of(p)[role], group)
            result.pending[f"{group}:p{p}"] = pending
            if pending or not delivered:
                result.problems.append(f"{group} p{p}: {pending} pending, delivered={delivered}")
        if await client.hlen(keys.dedupe_outbox(p)):
            result.problems.append(f"outbox p{p} not empty")
    result.dead_letters = sum([await client.xlen(keys.dlq(p)) for p in keys.all_partitions])
    if result.dead_letters != expected.rejected:
        result.problems.append(f"{result.dead_letters} dead letters, {expected.rejected} expected")
    return result

"""What every crash test needs: the expected outcome, a resilient producer, and the end-state audit.

The expected outcome comes from a single-process run of the same code the services run
(``normalize``, MinHash, the cascade, the story index; the semantic stage is off in these tests,
see conftest.py) over the same input, in publish order.
It is computed twice, the second time in a shuffled order: the two must agree, which proves the
corpus' story partition does not depend on arrival order, so that comparing a crash run (whose
order reclaim scrambles) with it is a fair test rather than a flaky one.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import orjson
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from services.dedupe.cascade import Thresholds, decide
from services.dedupe.features import Features
from services.dedupe.index import Record, StoryIndex
from services.dedupe.minhash import MinHasher, Signature
from services.dedupe.settings import DedupeSettings
from services.ingest.normalize import NormalizationError, normalize
from services.ingest.settings import IngestSettings
from wiredesk.app.launcher import ServiceProcesses
from wiredesk.messages import RawArticle, encode_entry
from wiredesk.settings import Streams
from wiredesk.streaming import parse_entries

Partition = frozenset[frozenset[str]]


@dataclass(frozen=True)
class Expected:
    """What any correct run of the pipeline over the input must end with."""

    article_ids: frozenset[str]
    partition: Partition
    rejected: int


def _partition(pairs: Sequence[tuple[str, str]]) -> Partition:
    stories: dict[str, set[str]] = defaultdict(set)
    for article_id, story_id in pairs:
        stories[story_id].add(article_id)
    return frozenset(frozenset(members) for members in stories.values())


def _assign(items: Sequence[tuple[str, str, Signature]], settings: DedupeSettings) -> Partition:
    index = StoryIndex(bands=settings.lsh_bands)
    thresholds = Thresholds(near=settings.near_threshold)
    pairs: list[tuple[str, str]] = []
    for article_id, sha, signature in items:
        if article_id in index:
            continue
        features = Features(sha, signature)
        verdict = decide(
            article_id=article_id, features=features, indexes=[index], thresholds=thresholds
        )
        index.add(Record(article_id, verdict.story_id, features, seen_ms=0))
        pairs.append((article_id, verdict.story_id))
    return _partition(pairs)


# (raw id, body) -> (text sha, signature), or None if ingest rejects it; normalizing is the
# expensive part (milliseconds per article), and tests share articles.
_NORMALIZED: dict[tuple[str, str], tuple[str, Signature] | None] = {}


def expected_outcome(articles: Sequence[RawArticle]) -> Expected:
    return _expected(tuple(articles))


@cache
def _expected(articles: tuple[RawArticle, ...]) -> Expected:
    ingest, dedupe = IngestSettings(), DedupeSettings(semantic=False)  # as reliability_env
    limits = ingest.limits()
    hasher = MinHasher(dedupe.num_perm, seed=dedupe.minhash_seed, shingle_size=dedupe.shingle_size)
    items: list[tuple[str, str, Signature]] = []
    rejected = 0
    for raw in articles:
        key = (raw.id, raw.body)
        if key not in _NORMALIZED:
            try:
                article = normalize(raw, limits)
            except NormalizationError:
                _NORMALIZED[key] = None
            else:
                _NORMALIZED[key] = (article.text_sha256, hasher.signature(article.text))
        done = _NORMALIZED[key]
        if done is None:
            rejected += 1
            continue
        items.append((raw.id, *done))
    partition = _assign(items, dedupe)
    shuffled = list(items)
    random.Random(7).shuffle(shuffled)
    assert _assign(shuffled, dedupe) == partition, "corpus partition depends on arrival order"
    return Expected(frozenset(i for i, _, _ in items), partition, rejected)


async def publish_resilient(
    redis: Redis,
    stream: str,
    articles: Sequence[RawArticle],
    *,
    chunk: int = 20,
    rate: float | None = None,
    on_chunk: Callable[[int], Awaitable[None]] | None = None,
) -> int:
    """XADD in pipelined chunks, retrying a chunk until Redis takes it; returns retried chunks.

    A retried chunk may have been added already (the reply was lost, not the request): the copies
    carry the same article ids, which the pipeline must recognise, as it would a producer's retry.
    """
    retries = 0
    started = time.monotonic()
    for offset in range(0, len(articles), chunk):
        part = articles[offset : offset + chunk]
        while True:
            try:
                async with redis.pipeline(transaction=False) as pipe:
                    for article in part:
                        pipe.xadd(stream, encode_entry(article))  # type: ignore[arg-type]
                    await pipe.execute()
                break
            except (RedisConnectionError, RedisTimeoutError):
                retries += 1
                await asyncio.sleep(0.2)
        sent = offset + len(part)
        if on_chunk is not None:
            await on_chunk(sent)
        if rate is not None:
            ahead = sent / rate - (time.monotonic() - started)
            if ahead > 0:
                await asyncio.sleep(ahead)
    return retries


PIPELINE_GROUPS = (("raw", "ingest"), ("normalized", "dedupe"), ("annotated", "store"))


async def group_state(redis: Redis, stream: str, group: str) -> tuple[int, bool]:
    """(pending, everything delivered) for one group of one stream."""
    try:
        groups = await redis.xinfo_groups(stream)
    except ResponseError:
        return 0, False
    last = await redis.xrevrange(stream, count=1)
    for info in groups:
        if info["name"].decode() == group:
            delivered = not last or info["last-delivered-id"] == last[0][0]
            return int(info["pending"]), delivered
    return 0, False


def store_rows(db_path: Path) -> list[tuple[str, str]]:
    """(article id, story id) of every stored article, read with a connection of our own."""
    if not db_path.exists():
        return []
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10)
    try:
        return [(r[0], r[1]) for r in conn.execute("SELECT id, story_id FROM articles")]
    except sqlite3.OperationalError:  # not migrated yet
        return []
    finally:
        conn.close()


async def settled(redis: Redis, streams: Streams, db_path: Path, expected: Expected) -> bool:
    """The store has every article and no group has anything left to read or acknowledge."""
    if len(store_rows(db_path)) < len(expected.article_ids):
        return False
    for stream_attr, group in PIPELINE_GROUPS:
        pending, delivered = await group_state(redis, getattr(streams, stream_attr), group)
        if pending or not delivered:
            return False
    return True


async def wait_settled(
    redis: Redis,
    streams: Streams,
    db_path: Path,
    expected: Expected,
    *,
    timeout: float,
    services: ServiceProcesses | None = None,
) -> float:
    """Seconds until settled; fails (with the numbers) after ``timeout``."""
    started = time.monotonic()
    while not await settled(redis, streams, db_path, expected):
        if services is not None:
            for name in services.services:
                if not services.live(name):
                    raise AssertionError(f"no {name} running: {services.exit_codes()}")
        if time.monotonic() - started > timeout:
            states = {
                g: await group_state(redis, getattr(streams, s), g) for s, g in PIPELINE_GROUPS
            }
            raise AssertionError(
                f"not settled after {timeout}s: stored {len(store_rows(db_path))}/"
                f"{len(expected.article_ids)}, (pending, delivered) per group {states}"
            )
        await asyncio.sleep(0.25)
    return time.monotonic() - started


@dataclass
class Audit:
    """The end state, in the numbers the issue asks for; ``problems`` lists every violation."""

    articles: int = 0
    stored: int = 0
    lost: int = 0
    doubled: int = 0
    stories: int = 0
    unique_entries: int = 0
    dead_letters: int = 0
    pending: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def line(self, **extra: object) -> str:
        parts = {
            "articles": self.articles,
            **extra,
            "stored": self.stored,
            "lost": self.lost,
            "doubled": self.doubled,
            "stories": self.stories,
            "unique": self.unique_entries,
            "dead_letters": self.dead_letters,
        }
        return " ".join(f"{k}={v}" for k, v in parts.items())


async def entries(redis: Redis, stream: str) -> list[tuple[str, dict[bytes, bytes]]]:
    """Every entry of a stream, typed (redis-py's stubs return loose unions)."""
    return parse_entries(await redis.xrange(stream) or [])


async def audit(redis: Redis, streams: Streams, db_path: Path, expected: Expected) -> Audit:
    """Check every delivery promise at once, so one failing run reports all that went wrong."""
    result = Audit(articles=len(expected.article_ids))
    rows = store_rows(db_path)
    stored_ids = [article_id for article_id, _ in rows]
    result.stored = len(stored_ids)
    missing = expected.article_ids - set(stored_ids)
    result.lost = len(missing)
    if missing:
        result.problems.append(f"{len(missing)} articles never stored, e.g. {sorted(missing)[:3]}")
    if set(stored_ids) - expected.article_ids:
        result.problems.append("the store has articles that were never published")

    annotated = [orjson.loads(f[b"data"]) for _, f in await entries(redis, streams.annotated)]
    annotated_ids = [a["id"] for a in annotated]
    result.doubled = len(annotated_ids) - len(set(annotated_ids))
    if result.doubled:
        result.problems.append(f"{result.doubled} articles annotated more than once")
    if set(annotated_ids) != expected.article_ids:
        result.problems.append("annotated ids differ from the published ones")

    unique = [orjson.loads(f[b"data"])["story_id"] for _, f in await entries(redis, streams.unique)]
    result.unique_entries = len(unique)
    story_ids = {a["story_id"] for a in annotated}
    result.stories = len(story_ids)
    if len(unique) != len(set(unique)):
        result.problems.append(f"{len(unique) - len(set(unique))} stories published twice")
        result.doubled += len(unique) - len(set(unique))
    if set(unique) != story_ids:
        result.problems.append("articles:unique is not exactly one entry per annotated story")

    stream_partition = _partition([(a["id"], a["story_id"]) for a in annotated])
    if stream_partition != expected.partition:
        result.problems.append(
            f"story partition differs from the undisturbed run: {len(stream_partition)} stories "
            f"vs {len(expected.partition)}"
        )
    if _partition(rows) != stream_partition:
        result.problems.append("the store's partition differs from articles:annotated")

    for stream_attr, group in PIPELINE_GROUPS:
        stream = getattr(streams, stream_attr)
        pending, delivered = await group_state(redis, stream, group)
        result.pending[group] = pending
        if pending or not delivered:
            result.problems.append(f"{group}: {pending} pending, all delivered={delivered}")
    result.dead_letters = await redis.xlen(streams.dlq)
    if result.dead_letters != expected.rejected:
        result.problems.append(f"{result.dead_letters} dead letters, {expected.rejected} expected")
    return result

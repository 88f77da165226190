"""How dedupe's cost grows with the window: the same new articles against 1k, 10k, 100k held.

Why in-process: the question is the cost *per article* of deciding against a larger window, not
the pipeline's throughput (measured elsewhere). Running ``DedupeStage`` in this process against
the private Redis (the pattern of ``tools.evaluation.runner``) times exactly ``handle``:
decode, MinHash, index lookups, the commit script, the log catch-up, eviction.

Why the window is pre-filled with synthetic records: computing 100k real signatures would take
minutes (MinHash is ~1k docs/s per core) and measure nothing new. Records are written into the
shared log with ``services.dedupe.state.DedupeLog.seed`` (the format every replica replays, and
the head moved to the last one: exactly what committed batches leave behind).
Signatures are random per story, with copies of a story sharing ~75% of their minima (Jaccard
around 0.75, like real near-copies), so LSH buckets hold clusters the way they would. The timed
articles are real corpus texts, normalized by ingest's own ``normalize``.
"""

from __future__ import annotations

import gc
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from redis.asyncio import Redis

from services.dedupe.features import Features
from services.dedupe.index import Record
from services.dedupe.settings import DedupeSettings
from services.dedupe.stage import DedupeStage
from services.dedupe.state import DedupeLog
from services.ingest.normalize import NormalizationError, normalize
from services.ingest.settings import IngestSettings
from tools.bench import procfs
from tools.bench.stats import growth, summarize
from wiredesk.keys import Keys
from wiredesk.messages import Article, RawArticle, encode_entry
from wiredesk.service import freeze_loaded_heap
from wiredesk.settings import Streams
from wiredesk.streaming import ensure_group, read_new

Progress = Callable[[str, int, int], None]
_MAX61 = (1 << 61) - 1


def normalized(raws: Sequence[RawArticle]) -> list[Article]:
    """Ingest's output for the raws (those it would dead-letter are left out)."""
    out: list[Article] = []
    limits = IngestSettings().limits()
    for raw in raws:
        try:
            out.append(normalize(raw, limits))
        except NormalizationError:
            continue
    return out


def synthetic_signatures(
    count: int, *, num_perm: int, duplicate_rate: float, seed: int, offset: int = 0
) -> tuple[np.ndarray[Any, np.dtype[np.uint64]], np.ndarray[Any, np.dtype[np.int64]]]:
    """``count`` signatures in stories: (signatures, story index per row). Deterministic.

    Row ``i`` opens a new story with probability ``1 - duplicate_rate``, else copies a recent
    story's signature with a quarter of its minima redrawn.
    """
    rng = np.random.default_rng(seed + offset)
    opens = rng.random(count) >= duplicate_rate
    opens[0] = True
    story = np.cumsum(opens) - 1
    # a copy belongs to one of the last few stories (wire copies arrive close together)
    back = rng.integers(0, 8, size=count)
    story = np.where(opens, story, np.maximum(story - back, 0))
    bases = rng.integers(0, _MAX61, size=(int(story.max()) + 1, num_perm), dtype=np.uint64)
    signatures = bases[story].copy()
    redraw = (rng.random((count, num_perm)) < 0.25) & ~opens[:, None]
    signatures[redraw] = rng.integers(0, _MAX61, size=int(redraw.sum()), dtype=np.uint64)
    return signatures, story.astype(np.int64)


def synthetic_semantics(
    stories: np.ndarray[Any, np.dtype[np.int64]], *, seed: int, dim: int = 384, n_terms: int = 60
) -> tuple[np.ndarray[Any, np.dtype[np.float32]], list[dict[int, float]]]:
    """Unit vectors and sparse term vectors per row, members of one story close together, so
    the semantic stage's window-wide matrix product and candidate checks do real work."""
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((int(stories.max()) + 1, dim)).astype(np.float32)
    vectors = centers[stories] + 0.3 * rng.standard_normal((len(stories), dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = rng.integers(0, 2**32, size=(len(stories), n_terms), dtype=np.uint64)
    weight = float(1 / np.sqrt(n_terms))
    terms = [dict.fromkeys(row.tolist(), weight) for row in ids]
    return vectors, terms


async def prefill(
    redis: Redis,
    settings: DedupeSettings,
    size: int,
    *,
    duplicate_rate: float,
    seed: int,
    progress: Progress | None = None,
) -> float:
    """Append ``size`` records to the dedupe log and move the head; returns seconds taken."""
    keys = Keys.from_settings(settings)
    log = DedupeLog(
        redis,
        log_key=keys.dedupe_log,
        head_key=keys.dedupe_head,
        input_stream=keys.normalized(0),
        group=settings.groups.dedupe,
        annotated_stream=keys.annotated(0),
        unique_stream=keys.unique,
        stories_stream=keys.stories,
    )
    started = time.perf_counter()
    chunk = 2000
    for offset in range(0, size, chunk):
        n = min(chunk, size - offset)
        signatures, stories = synthetic_signatures(
            n,
            num_perm=settings.num_perm,
            duplicate_rate=duplicate_rate,
            seed=seed,
            offset=offset,
        )
        vectors, terms = synthetic_semantics(stories, seed=seed + offset)
        records = []
        for row in range(n):
            number = offset + row
            story_number = offset + int(stories[row])
            features = Features(
                f"{number:064x}",
                signatures[row],
                vectors[row] if settings.semantic else None,
                terms[row] if settings.semantic else None,
            )
            records.append(
                Record(
                    article_id=f"fill-{number:07d}",
                    story_id=f"fill-{story_number:07d}",
                    features=features,
                    seen_ms=0,
                )
            )
        await log.seed(records)
        if progress is not None:
            progress(f"window {size:,}: pre-filling", offset + n, size)
    return time.perf_counter() - started


async def measure_size(
    redis_url: str,
    size: int,
    articles: Sequence[Article],
    *,
    duplicate_rate: float,
    seed: int,
    batch: int,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Pre-fill a window of ``size``, then time ``handle`` on ``articles`` in batches."""
    namespace = f"bench-growth-{uuid.uuid4().hex[:8]}:"
    settings = DedupeSettings(
        redis_url=redis_url,
        streams=Streams().prefixed(namespace),
        key_prefix=f"{namespace}wd",
        consumer="bench",
    )
    redis = Redis.from_url(redis_url)
    stage = DedupeStage(settings)
    try:
        fill_s = await prefill(
            redis, settings, size, duplicate_rate=duplicate_rate, seed=seed, progress=progress
        )
        log_bytes = int(await redis.memory_usage(stage.keys.dedupe_log, samples=0) or 0)
        await ensure_group(redis, stage.input_stream, stage.group)
        rss_before = procfs.rss_bytes(_pid())
        loaded = time.perf_counter()
        await stage.setup(redis)
        freeze_loaded_heap()  # as the service does after loading its window
        load_s = time.perf_counter() - loaded
        rss_after = procfs.rss_bytes(_pid())
        async with redis.pipeline(transaction=False) as pipe:
            for article in articles:
                pipe.xadd(stage.input_stream, encode_entry(article))  # type: ignore[arg-type]
            await pipe.execute()
        # Features (MinHash, embedding, TF-IDF) cost the same whatever the window holds:
        # compute them once, outside the timed part, and hand the stage the precomputed ones,
        # so the timing is exactly the window-dependent work (lookups, the matrix product over
        # the window, commit script, catch-up, eviction).
        began = time.perf_counter()
        computed = dict(
            zip((a.id for a in articles), stage.featurizer.featurize(list(articles)), strict=True)
        )
        features_s = time.perf_counter() - began

        def cached(batch: list[Article]) -> list[Features]:
            return [computed[a.id] for a in batch]

        setattr(stage.featurizer, "featurize", cached)  # noqa: B010
        batch_ms: list[float] = []
        done = 0
        read = {"stream": stage.input_stream, "group": stage.group, "consumer": "bench"}
        while entries := await read_new(redis, **read, count=batch):
            began = time.perf_counter()
            await stage.handle(entries)
            batch_ms.append((time.perf_counter() - began) * 1000)
            done += len(entries)
            if progress is not None:
                progress(f"window {size:,}: deciding", done, len(articles))
        decide_s = sum(batch_ms) / 1000
        held = len(stage.index)
        await _drop(redis, namespace)
    finally:
        gc.unfreeze()
        await stage.close()
        await redis.aclose()
    decide_ms = decide_s * 1000 / max(done, 1)
    features_ms = features_s * 1000 / max(len(articles), 1)
    index_bytes = (
        (rss_after - rss_before) / size
        if rss_after is not None and rss_before is not None
        else None
    )
    return {
        "window": size,
        "held_after": held,
        "articles": done,
        "batch": batch,
        "articles_per_s": round(1000 / (decide_ms + features_ms), 1) if done else None,
        "ms_per_article": round(decide_ms + features_ms, 4),
        "ms_per_article_without_features": round(decide_ms, 4),
        "features_ms_per_article": round(features_ms, 4),
        "batch_ms": summarize(batch_ms),
        "prefill_s": round(fill_s, 2),
        "window_load_s": round(load_s, 3),
        "log_bytes_per_record": round(log_bytes / size, 1) if size else None,
        "index_rss_bytes_per_record": round(index_bytes, 1) if index_bytes is not None else None,
    }


def _pid() -> int:
    import os

    return os.getpid()


async def _drop(redis: Redis, namespace: str) -> None:
    keys = [key async for key in redis.scan_iter(match=f"{namespace}*", count=1000)]
    if keys:
        await redis.delete(*keys)


async def run_growth(
    redis_url: str,
    sizes: Sequence[int],
    articles: Sequence[Article],
    *,
    duplicate_rate: float,
    seed: int,
    batch: int,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Measure every window size; summarize how the per-article cost grew."""
    rows = []
    for size in sorted(sizes):
        rows.append(
            await measure_size(
                redis_url,
                size,
                articles,
                duplicate_rate=duplicate_rate,
                seed=seed,
                batch=batch,
                progress=progress,
            )
        )
    costs = {int(r["window"]): float(r["ms_per_article"]) for r in rows}
    window_costs = {int(r["window"]): float(r["ms_per_article_without_features"]) for r in rows}
    return {
        "sizes": rows,
        "growth": growth(costs),
        "growth_without_features": growth(window_costs),
        "how": "DedupeStage.handle in-process on real normalized articles; window pre-filled "
        "with synthetic log records (stories of near-copies)",
    }

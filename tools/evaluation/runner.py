"""Runs labelled data through ingest's normalization and the dedupe stage, on a real Redis.

The same code path as the services: each distinct article once, in file order, normalized by
``services.ingest.normalize``, published to a namespaced ``articles:normalized`` stream, read
back through the dedupe consumer group in batches and decided by ``DedupeStage.handle`` with its
state in Redis. Only the process boundary is skipped, so the numbers do not depend on timing.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from redis.asyncio import Redis

from services.dedupe.cascade import pair_scores
from services.dedupe.features import Features
from services.dedupe.settings import DedupeSettings
from services.dedupe.stage import DedupeStage
from services.ingest.normalize import NormalizationError, normalize
from services.ingest.settings import IngestSettings
from tools.evaluation.datasets import ClusterSet, Document, PairSet
from tools.evaluation.groups import Scored, crossval, group_rows
from tools.evaluation.metrics import adjusted_rand_index, bcubed, pairwise, prf, roc_auc
from wiredesk.messages import Article, RawArticle, encode_entry
from wiredesk.settings import Streams
from wiredesk.streaming import ensure_group, parse_entries, read_new


@dataclass(slots=True)
class Outcome:
    assignments: dict[str, str]
    methods: dict[str, str]
    articles: dict[str, Article]
    rejected: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    decisions: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Each article's verdict as the annotated stream carried it (``--decisions``)."""


async def run_dedupe(
    redis_url: str,
    documents: list[Document],
    *,
    settings: DedupeSettings | None = None,
    batch_size: int = 64,
    on_progress: Callable[[int], None] | None = None,
) -> tuple[Outcome, DedupeStage]:
    namespace = f"eval-{uuid.uuid4().hex[:8]}:"
    base = settings or DedupeSettings()
    settings = base.model_copy(
        update={
            "redis_url": redis_url,
            "streams": Streams().prefixed(namespace),
            "key_prefix": f"{namespace}wd",
            "consumer": "eval",
        }
    )
    stage = DedupeStage(settings)
    redis = Redis.from_url(redis_url)
    outcome = Outcome({}, {}, {})
    try:
        started = time.perf_counter()
        await ensure_group(redis, stage.input_stream, stage.group)
        await stage.setup(redis)
        limits = IngestSettings().limits()  # exactly what the ingest service applies
        for doc in documents:
            raw = RawArticle(id=doc.id, source="eval", url=doc.id, title=doc.title, body=doc.text)
            try:
                article = normalize(raw, limits)
            except NormalizationError as exc:
                outcome.rejected[doc.id] = exc.reason
                continue
            outcome.articles[doc.id] = article
            await redis.xadd(stage.input_stream, encode_entry(article))  # type: ignore[arg-type]
        read = {"stream": stage.input_stream, "group": stage.group, "consumer": "eval"}
        while entries := await read_new(redis, **read, count=batch_size):
            await stage.handle(entries)
            if on_progress is not None:
                on_progress(len(entries))
        outcome.seconds = time.perf_counter() - started
        annotated: Any = await redis.xrange(settings.streams.annotated)
        for _, fields in parse_entries(annotated):
            doc = orjson.loads(fields[b"data"])
            outcome.assignments[doc["id"]] = doc["story_id"]
            outcome.methods[doc["id"]] = doc["method"]
            outcome.decisions[doc["id"]] = {
                key: doc.get(key)
                for key in ("id", "story_id", "method", "duplicate_of", "score", "evidence")
            } | {"canonical_id": doc.get("canonical_id")}
        await _drop_namespace(redis, namespace)
    finally:
        await stage.close()
        await redis.aclose()
    for doc_id in outcome.rejected:  # a rejected article is alone, never silently dropped
        outcome.assignments[doc_id] = f"rejected:{doc_id}"
    return outcome, stage


async def _drop_namespace(redis: Redis, namespace: str) -> None:
    async for key in redis.scan_iter(match=f"{namespace}*", count=1000):
        await redis.delete(key)


def cluster_metrics(data: ClusterSet, outcome: Outcome) -> dict[str, Any]:
    pair = pairwise(data.story_of, outcome.assignments)
    b3 = bcubed(data.story_of, outcome.assignments)
    return {
        "format": "clusters",
        "articles": len(data.documents),
        "true_stories": len(set(data.story_of.values())),
        "predicted_stories": len(set(outcome.assignments.values())),
        "pairwise_precision": round(pair.precision, 4),
        "pairwise_recall": round(pair.recall, 4),
        "pairwise_f1": round(pair.f1, 4),
        "bcubed_f1": round(b3.f1, 4),
        "ari": round(adjusted_rand_index(data.story_of, outcome.assignments), 4),
        "rejected": len(outcome.rejected),
        "articles_per_s": round(len(data.documents) / outcome.seconds, 1)
        if outcome.seconds
        else None,
    }


def features_of(
    stage: DedupeStage, articles: list[Article], *, batch: int = 64
) -> dict[str, Features]:
    """Every article's features with both embeddings, by the stage's featurizer, in batches:
    the pair scores of a labelled pair are read from these (the stage itself embeds lazily)."""
    found: dict[str, Features] = {}
    for start in range(0, len(articles), batch):
        chunk = articles[start : start + batch]
        embedded = stage.featurizer.featurize(chunk, embed=True)
        found.update((article.id, f) for article, f in zip(chunk, embedded, strict=True))
    return found


def pair_metrics(data: PairSet, outcome: Outcome, stage: DedupeStage) -> dict[str, Any]:
    labelled = [p for p in data.pairs if p.label is not None]
    predicted = [
        outcome.assignments.get(p.a) is not None
        and outcome.assignments.get(p.a) == outcome.assignments.get(p.b)
        for p in labelled
    ]
    truth = [bool(p.label) for p in labelled]
    features = features_of(stage, list(outcome.articles.values()))
    # An article ingest rejected (e.g. too short) cannot be compared: its pairs score 0.
    scores = [
        pair_scores(features[p.a], features[p.b], stage.thresholds)
        if p.a in features and p.b in features
        else {}
        for p in labelled
    ]
    primary = "semantic" if stage.settings.semantic else "jaccard"
    aucs = {
        f"auc_{name}": round(roc_auc([s.get(name, 0.0) for s in scores], truth), 4)
        for name in ("semantic", "lexical", "combined", "jaccard")
        if any(name in s for s in scores)
    }
    tp = sum(1 for y, yhat in zip(truth, predicted, strict=True) if y and yhat)
    result = prf(tp, sum(predicted), sum(truth))
    scored = [
        Scored(p.langs or "en-en", y, yhat, s.get("combined", s.get("jaccard", 0.0)))
        for p, y, yhat, s in zip(labelled, truth, predicted, scores, strict=True)
    ]
    extra: dict[str, Any] = {"crossval": crossval(scored)}
    if any(p.langs for p in labelled):
        extra["groups"] = group_rows(scored)
    return {
        "format": "pairs",
        "pairs": len(data.pairs),
        "positives": sum(truth),
        "negatives": len(truth) - sum(truth),
        "precision": round(result.precision, 4),
        "recall": round(result.recall, 4),
        "f1": round(result.f1, 4),
        "auc": aucs[f"auc_{primary}"],
        **aucs,
        "articles": len(data.documents),
        "rejected": len(outcome.rejected),
        "articles_per_s": round(len(data.documents) / outcome.seconds, 1)
        if outcome.seconds
        else None,
        "embedded_minilm": stage.embedded,
        "embedded_multilingual": stage.embedded_multilingual,
        "embedded_e5": stage.embedded_e5,
        **extra,
    }

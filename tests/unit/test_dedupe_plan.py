"""One-pass dedupe: the cascade's plan names, as data, what a decision still needs; the stage
embeds a batch's needs once and scores; a window that changes while embedding is planned again.

Real model, real articles (the seeds); no Redis (the stage's decisions are pure past its log).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from services.dedupe.cascade import Thresholds, decide, plan, score, unmet
from services.dedupe.features import MINILM, Features
from services.dedupe.index import Record, StoryIndex
from services.dedupe.settings import DedupeSettings
from services.dedupe.stage import DedupeStage
from services.ingest.normalize import normalize
from wiredesk.messages import Article, Method, RawArticle, encode_entry
from wiredesk.streaming import Entry

SEEDS = sorted((Path(__file__).resolve().parents[2] / "seeds").glob("*.txt"))


@pytest.fixture(scope="module")
def stage() -> DedupeStage:
    return DedupeStage(DedupeSettings())


def seed(number: int, article_id: str) -> Article:
    text = SEEDS[number].read_text(encoding="utf-8")
    return normalize(RawArticle(id=article_id, source="s", url=article_id, body=text))


def features_of(stage: DedupeStage, *articles: Article) -> list[Features]:
    return stage.featurizer.featurize(list(articles))


def test_a_plan_names_the_missing_embeddings_and_scores_once_they_are_there(
    stage: DedupeStage,
) -> None:
    window_article, article = seed(0, "w"), seed(1, "a")
    window_features, features = features_of(stage, window_article, article)
    index = StoryIndex(bands=stage.settings.lsh_bands)
    index.add(Record("w", "story-w", window_features, seen_ms=0))

    planned = plan(article_id="a", features=features, indexes=[index], thresholds=Thresholds())

    assert planned.settled is None  # a rewrite: neither exact nor near
    assert planned.needs == {(MINILM, "a"), (MINILM, "w")}
    assert unmet(planned, features, [index]) == planned.needs
    with pytest.raises(ValueError, match="needs embeddings first"):
        decide(article_id="a", features=features, indexes=[index], thresholds=Thresholds())

    w_vector, a_vector = stage.featurizer.embed([window_features.opening, features.opening])
    index.set_vector("w", w_vector)
    features = replace(features, vector=a_vector)
    assert unmet(planned, features, [index]) == set()
    verdict = score(planned, features, [index], Thresholds())
    assert (verdict.method, verdict.story_id, verdict.duplicate_of) == (
        Method.SEMANTIC,
        "story-w",
        "w",
    )
    assert verdict == decide(
        article_id="a", features=features, indexes=[index], thresholds=Thresholds()
    )


def test_an_exact_copy_is_settled_without_any_embedding(stage: DedupeStage) -> None:
    original, copy = seed(0, "w"), seed(0, "copy")
    window_features, features = features_of(stage, original, copy)
    index = StoryIndex(bands=stage.settings.lsh_bands)
    index.add(Record("w", "story-w", window_features, seen_ms=0))
    planned = plan(article_id="copy", features=features, indexes=[index], thresholds=Thresholds())
    assert planned.settled is not None and planned.settled.method == Method.EXACT
    assert planned.needs == frozenset() and planned.candidates == ()
    assert score(planned, features, [index], Thresholds()).story_id == "story-w"


def test_a_batch_article_matched_before_it_is_decided_gets_its_story_when_scored(
    stage: DedupeStage,
) -> None:
    first, copy = seed(2, "first"), seed(2, "copy")
    f_first, f_copy = features_of(stage, first, copy)
    batch = StoryIndex(bands=stage.settings.lsh_bands)
    batch.add(Record("first", "\x00undecided", f_first, seen_ms=0))
    planned = plan(article_id="copy", features=f_copy, indexes=[batch], thresholds=Thresholds())
    batch.file_under("first", "story-1")  # decided after "copy" was planned
    assert batch.members("story-1") == ["first"] and batch.members("\x00undecided") == []
    assert score(planned, f_copy, [batch], Thresholds()).story_id == "story-1"


def test_the_stage_embeds_a_batch_once(stage: DedupeStage) -> None:
    fresh = DedupeStage(DedupeSettings())
    articles = [seed(i, f"s{i}") for i in range(len(SEEDS))]
    prepared = [
        (Entry(f"1-{i}", encode_entry(a)), a, f)
        for i, (a, f) in enumerate(zip(articles, features_of(fresh, *articles), strict=True))
    ]
    calls: list[int] = []
    embed = fresh.featurizer.embed

    def counting(texts: list[str]) -> list[np.ndarray]:
        calls.append(len(texts))
        return embed(texts)

    fresh.featurizer.embed = counting  # type: ignore[method-assign]
    items = asyncio.run(fresh.decide(prepared))
    assert len(calls) == 1 and calls[0] == fresh.embedded > 1  # one batched call
    assert len({i.record.story_id for i in items if i.record is not None}) < len(articles)


def test_a_window_that_changes_while_the_batch_embeds_is_planned_again(
    stage: DedupeStage,
) -> None:
    """The reclaim loop may commit a batch while this one awaits its embeddings: the plan is
    stale (here an exact copy of the article arrived in the window), so it is made again."""
    fresh = DedupeStage(DedupeSettings())
    window_article, article = seed(0, "w"), seed(1, "a")
    window_features, features = features_of(fresh, window_article, article)
    fresh.index.add(Record("w", "story-w", window_features, seen_ms=int(time.time() * 1000)))
    copy_features = features_of(fresh, seed(1, "late-copy"))[0]
    embed = fresh.featurizer.embed

    def embed_while_another_batch_commits(texts: list[str]) -> list[np.ndarray]:
        vectors = embed(texts)
        fresh.index.add(Record("late-copy", "story-c", copy_features, seen_ms=0))
        return vectors

    fresh.featurizer.embed = embed_while_another_batch_commits  # type: ignore[method-assign]
    items = asyncio.run(fresh.decide([(Entry("1-0", encode_entry(article)), article, features)]))
    record = items[0].record
    assert record is not None and record.story_id == "story-c"  # the copy, found on re-plan
    assert b'"method":"exact"' in items[0].annotated


def test_a_budget_decides_a_prefix_and_the_rest_decides_alike_after_it(
    stage: DedupeStage,
) -> None:
    """``embed_commit_budget``: a batch whose needs exceed the budget is decided a prefix at a
    time; each prefix's records enter the window (as a commit puts them there) before the
    next is planned, and every article gets the verdict the whole batch gave it."""
    articles = [seed(i, f"s{i}") for i in range(len(SEEDS))]

    def prepared_for(fresh: DedupeStage) -> list[tuple[Entry, Article, Features]]:
        features = features_of(fresh, *articles)
        return [
            (Entry(f"1-{i}", encode_entry(a)), a, f)
            for i, (a, f) in enumerate(zip(articles, features, strict=True))
        ]

    whole = DedupeStage(DedupeSettings())
    at_once = asyncio.run(whole.decide(prepared_for(whole)))
    assert len(at_once) == len(articles) and whole.embedded > 2

    cut = DedupeStage(DedupeSettings())
    rest = prepared_for(cut)
    prefixes: list[int] = []
    verdicts = []
    while rest:
        before = cut.embedded
        items = asyncio.run(cut.decide(rest, budget=2))
        assert items and (cut.embedded - before <= 2 or len(items) == 1)
        prefixes.append(len(items))
        for item in items:
            assert item.record is not None
            cut.index.add(replace(item.record, seen_ms=int(time.time() * 1000)))
        verdicts += items
        rest = rest[len(items) :]
    assert len(prefixes) > 1  # the budget did cut the batch
    assert sum(prefixes) == len(articles)
    assert [v.record.story_id for v in verdicts if v.record] == [
        v.record.story_id for v in at_once if v.record
    ]

"""The lexical gate decides exactly as embedding every article did.

Two parts: the lexical index never misses a candidate (random sparse vectors, against brute
force, across block merges and eviction), and the stage's gated path (lazy embeddings, batched,
log round trips) gives the verdicts and canonical choices of the old path (every article
embedded, semantic candidates from a scan of every window embedding) on the seeds and texts
made from them, with the real model.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from pathlib import Path

import pytest

from services.dedupe.cascade import (
    Thresholds,
    Verdict,
    _exact_or_near,
    canonical,
    combined_score,
)
from services.dedupe.features import Features, Terms, lexical_cosine
from services.dedupe.index import LexicalIndex, Match, Merge, Record, StoryIndex
from services.dedupe.settings import DedupeSettings
from services.dedupe.stage import DedupeStage
from services.dedupe.state import decode_record, encode_record
from services.ingest.normalize import normalize
from wiredesk.messages import Article, Method, RawArticle, encode_entry
from wiredesk.streaming import Entry

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
ONESTOP = Path(__file__).resolve().parents[2] / "data" / "eval" / "onestopenglish-dev.jsonl"


def random_terms(rng: random.Random, vocabulary: int, size: int) -> Terms:
    weights = {rng.randrange(vocabulary): rng.random() ** 3 for _ in range(size)}
    norm = sum(w * w for w in weights.values()) ** 0.5
    return {t: w / norm for t, w in weights.items()}


@pytest.mark.parametrize("threshold", [0.05, 0.2, 0.5])
def test_lexical_index_finds_every_candidate_through_merges_and_eviction(
    threshold: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(LexicalIndex, "BLOCK_ROWS", 64)
    rng = random.Random(7)
    index = LexicalIndex()
    held: dict[str, Terms] = {}
    for step in range(600):
        terms = random_terms(rng, 300, rng.randrange(1, 40))
        index.add(f"a{step}", terms)
        held[f"a{step}"] = terms
        if step % 7 == 0:  # evict the oldest, as the window does
            oldest = min(held, key=lambda i: int(i[1:]))
            index.remove(oldest)
            del held[oldest]
        if step % 13 == 0:
            query = random_terms(rng, 300, rng.randrange(1, 40))
            found = index.candidates(query, threshold)
            truth = {i for i, t in held.items() if lexical_cosine(query, t) >= threshold}
            assert truth <= set(found)
            assert set(found) <= held.keys()
    assert len(index) == len(held)


@pytest.mark.parametrize("threshold", [0.05, 0.2])
def test_background_merges_lose_no_candidate_and_resurrect_no_evicted_row(
    threshold: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Merges computed "in another thread" (run now, installed a few steps later, with adds,
    evictions and queries in between, as the stage's worker does) keep the index exact."""
    monkeypatch.setattr(LexicalIndex, "BLOCK_ROWS", 64)
    rng = random.Random(11)
    index = LexicalIndex(background_merges=True)
    held: dict[str, Terms] = {}
    running: list[tuple[Merge, object]] = []
    installed = 0
    for step in range(900):
        terms = random_terms(rng, 300, rng.randrange(1, 40))
        index.add(f"a{step}", terms)
        held[f"a{step}"] = terms
        if step % 5 == 0:
            for _ in range(min(len(held) - 1, rng.randrange(1, 4))):  # evict the oldest
                oldest = min(held, key=lambda i: int(i[1:]))
                index.remove(oldest)
                del held[oldest]
        if step % 3 == 0:  # a decision: its query freezes new rows into a block, no merge
            query = random_terms(rng, 300, rng.randrange(1, 40))
            found = index.candidates(query, threshold)
            truth = {i for i, t in held.items() if lexical_cosine(query, t) >= threshold}
            assert truth <= set(found)
            assert set(found) <= held.keys()  # an evicted row never comes back
        if running and rng.random() < 0.5:
            job, merged = running.pop()
            installed += index.install(job, merged)  # type: ignore[arg-type]
        elif not running and (job := index.next_merge()) is not None:
            running.append((job, job.run()))
    assert installed > 20  # merges did happen in the background
    while (job := index.next_merge()) is not None:
        assert index.install(job, job.run())
    assert len(index) == len(held)
    query = random_terms(rng, 300, 30)
    truth = {i for i, t in held.items() if lexical_cosine(query, t) >= threshold}
    assert truth <= set(index.candidates(query, threshold)) <= held.keys()


# --- the old path, as it was before the gate: every article embedded, a full scan ------------


def old_semantic(features: Features, index: StoryIndex, thresholds: Thresholds) -> Verdict | None:
    if features.vector is None or features.terms is None:
        return None
    best: tuple[float, Match, float] | None = None
    for match in index.semantic_candidates(features.vector, thresholds.semantic):
        terms = match.record.features.terms
        lexical = lexical_cosine(features.terms, terms) if terms is not None else 0.0
        score = combined_score(match.score, lexical, thresholds)
        if best is None or score > best[0]:
            best = (score, match, lexical)
    if best is None or best[0] < 1.0:
        return None
    score, match, lexical = best
    return Verdict(
        match.record.story_id,
        Method.SEMANTIC,
        match.record.article_id,
        round(match.score, 4),
        {
            "semantic": round(match.score, 4),
            "lexical": round(lexical, 4),
            "combined": round(score, 4),
        },
    )


def old_decide(article_id: str, features: Features, indexes: list[StoryIndex]) -> Verdict:
    thresholds = Thresholds()
    for stage in (_exact_or_near, old_semantic):
        found = [v for index in indexes if (v := stage(features, index, thresholds)) is not None]
        if found:
            return max(found, key=lambda v: v.evidence.get("combined", v.score))
    return Verdict(story_id=article_id, method=Method.NEW, duplicate_of=None, score=1.0)


@dataclass(frozen=True)
class Outcome:
    verdict: tuple[str, str, str | None, float, dict[str, float]]
    canonical: str


def old_path(stage: DedupeStage, batches: list[list[Article]]) -> dict[str, Outcome]:
    window = StoryIndex(bands=stage.settings.lsh_bands)
    out: dict[str, Outcome] = {}
    for number, articles in enumerate(batches):
        features = stage.featurizer.featurize(articles, embed=True)
        batch = StoryIndex(bands=stage.settings.lsh_bands)
        for article, f in zip(articles, features, strict=True):
            if article.id in window or article.id in batch:
                continue
            v = old_decide(article.id, f, [window, batch])
            batch.add(Record(article.id, v.story_id, f, 0))
            members = [
                (i, r.features)
                for index in (window, batch)
                for i in index.members(v.story_id)
                if (r := index.get(i)) is not None
            ]
            out[article.id] = Outcome(
                (v.story_id, v.method.value, v.duplicate_of, round(v.score, 4), v.evidence),
                canonical(members),
            )
        commit(window, batch, [a.id for a in articles], number)
    return out


def commit(window: StoryIndex, batch: StoryIndex, ids: list[str], number: int) -> None:
    """What a commit and catch-up do: each record through the log's encoding."""
    for position, article_id in enumerate(ids):
        record = batch.get(article_id)
        if record is not None and article_id not in window:
            window.add(decode_record(f"{1000 + number}-{position}", encode_record(record)))


def gated_path(stage: DedupeStage, batches: list[list[Article]]) -> dict[str, Outcome]:
    import orjson

    out: dict[str, Outcome] = {}
    for number, articles in enumerate(batches):
        features = stage.featurizer.featurize(articles)
        assert all(f.vector is None for f in features)
        prepared = [
            (Entry(f"{number}-{i}", encode_entry(a)), a, f)
            for i, (a, f) in enumerate(zip(articles, features, strict=True))
        ]
        items = asyncio.run(stage.decide(prepared))
        batch = StoryIndex(bands=stage.settings.lsh_bands)
        for item in items:
            if item.record is not None:
                batch.add(item.record)
                doc = orjson.loads(item.annotated)
                evidence = {k: float(v) for k, v in (doc.get("evidence") or {}).items()}
                out[item.record.article_id] = Outcome(
                    (doc["story_id"], doc["method"], doc["duplicate_of"], doc["score"], evidence),
                    doc["canonical_id"],
                )
        commit(stage.index, batch, [a.id for a in articles], number)
        for item in items:  # and the lifecycle facts, as the catch-up after a commit applies them
            if item.fact is not None and stage.lifecycle is not None:
                stage.lifecycle.apply(item.fact)
    return out


def corpus() -> list[Article]:
    raws: list[RawArticle] = []
    texts = {p.name: p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))}
    for name, text in texts.items():
        raws.append(RawArticle(id=name, source="seed", url=name, body=text))
    first, second = list(texts.values())[:2]
    paragraphs = [p for p in first.split("\n\n") if len(p) > 80]
    raws += [
        RawArticle(id="copy", source="s", url="copy", body=first),
        RawArticle(
            id="chrome", source="s", url="c", body=first + "\n\nSubscribe to our newsletter."
        ),
        RawArticle(id="reorder", source="s", url="r", body="\n\n".join(reversed(paragraphs))),
        RawArticle(id="half", source="s", url="h", body="\n\n".join(paragraphs[::2])),
        RawArticle(id="mix", source="s", url="m", body=first[: len(first) // 2] + second[-900:]),
        RawArticle(
            id="unrelated",
            source="s",
            url="u",
            body="Silver futures slumped on Wednesday as traders priced in a stronger dollar, "
            "while copper held steady in London and gold edged lower in thin holiday trading. " * 3,
        ),
    ]
    # rewrites at three reading levels: every article needs the model
    import orjson

    for line in ONESTOP.read_text(encoding="utf-8").splitlines()[:45]:
        row = orjson.loads(line)
        raws.append(RawArticle(id=row["id"], source="ose", url=row["id"], body=row["text"]))
    articles = [normalize(raw) for raw in raws]
    random.Random(3).shuffle(articles)
    return articles


def test_gated_path_decides_exactly_as_embedding_everything() -> None:
    stage = DedupeStage(DedupeSettings())
    articles = corpus()
    batches = [articles[i : i + 5] for i in range(0, len(articles), 5)]
    batches.append(articles[:3])  # replays
    old = old_path(stage, batches)
    new = gated_path(stage, batches)
    assert new.keys() == old.keys()
    for article_id, expected in old.items():
        assert new[article_id] == expected, article_id
    methods = {o.verdict[1] for o in old.values()}
    assert {"new", "exact", "near", "semantic"} <= methods  # every stage was exercised
    assert 0 < stage.embedded < len(articles)  # and the gate skipped some embeddings


def test_canonical_of_the_seed_story_is_the_wire_copy() -> None:
    stage = DedupeStage(DedupeSettings())
    articles = [
        normalize(RawArticle(id=p.name, source="s", url=p.name, body=p.read_text("utf-8")))
        for p in sorted(SEEDS.glob("*.txt"))
    ]
    outcome = gated_path(stage, [articles])
    canonicals = {o.canonical for o in outcome.values() if o.verdict[0] != o.canonical}
    assert canonicals == {"002_8e2c37cbc6ca76d6.txt"}

"""The benchmark corpus: reproducible, at the asked duplicate rate, copies that look like copies."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from services.dedupe.minhash import shingles
from tools.bench.corpus import (
    CHROME_BOTTOM,
    CHROME_MIDDLE,
    CHROME_TOP,
    BaseText,
    Corpus,
    CorpusSpec,
    _swap,
    generate,
    load_bases,
    rewrite,
    split_sentences,
)

ROOT = Path(__file__).resolve().parents[2]


def seed_bases() -> list[BaseText]:
    return [BaseText(p.stem, p.read_text("utf-8")) for p in sorted((ROOT / "seeds").glob("*.txt"))]


def jaccard(a: str, b: str) -> float:
    sa, sb = shingles(a), shingles(b)
    return len(sa & sb) / len(sa | sb)


def test_same_spec_same_corpus() -> None:
    spec = CorpusSpec(articles=120, duplicate_rate=0.4, seed=7)
    one, two = generate(spec, seed_bases()), generate(spec, seed_bases())

    def content(corpus: Corpus) -> list[dict[str, object]]:  # received_at is the wall clock
        return [
            a.raw.model_dump(exclude={"received_at"}) | {"story": a.story} for a in corpus.articles
        ]

    assert content(one) == content(two)
    other = generate(CorpusSpec(articles=120, duplicate_rate=0.4, seed=8), seed_bases())
    assert [a.raw.body for a in one.articles] != [b.raw.body for b in other.articles]


@pytest.mark.parametrize("rate", [0.0, 0.25, 0.5, 0.9])
def test_duplicate_rate_is_exact(rate: float) -> None:
    corpus = generate(CorpusSpec(articles=200, duplicate_rate=rate, seed=1), seed_bases())
    duplicates = sum(a.kind != "original" for a in corpus.articles)
    assert duplicates == round(200 * rate)
    assert corpus.summary()["measured_duplicate_rate"] == pytest.approx(rate, abs=0.005)
    assert len({a.raw.id for a in corpus.articles}) == 200  # ids never repeat


def test_ground_truth_points_at_an_earlier_original() -> None:
    corpus = generate(CorpusSpec(articles=300, duplicate_rate=0.6, seed=3), seed_bases())
    seen: set[str] = set()
    for article in corpus.articles:
        if article.kind == "original":
            assert article.story not in seen  # one original per story
            seen.add(article.story)
        else:
            assert article.story in seen


def test_copies_are_near_duplicates_and_stories_are_distinct() -> None:
    corpus = generate(CorpusSpec(articles=400, duplicate_rate=0.5, seed=5), seed_bases())
    original = {a.story: a.raw.body for a in corpus.articles if a.kind == "original"}
    scores = [
        jaccard(original[a.story], a.raw.body) for a in corpus.articles if a.kind != "original"
    ]
    assert sum(s >= 0.5 for s in scores) / len(scores) >= 0.8
    copies = [a for a in corpus.articles if a.kind != "original"]
    assert all(s == 1.0 for a, s in zip(copies, scores, strict=True) if a.kind == "copy")
    collages = [body for story, body in original.items() if story.split("-")[-1].isdigit()]
    assert len(collages) > 10  # more stories than the five seeds: collages of real sentences
    # below the near-duplicate threshold (0.5) even from the seeds' small sentence pool
    pairs = [jaccard(collages[0], other) for other in collages[1:]]
    assert max(pairs) < 0.5
    assert sorted(pairs)[len(pairs) // 2] < 0.1


def test_rewrites_use_every_kind_of_edit() -> None:
    corpus = generate(CorpusSpec(articles=400, duplicate_rate=0.5, seed=11), seed_bases())
    edits = {e for a in corpus.articles for e in a.edits}
    assert {
        "sentence-drop",
        "paragraph-reorder",
        "spelling",
        "chrome-top",
        "chrome-bottom",
    } <= edits
    for article in corpus.articles:
        if "chrome-top" in article.edits:
            assert article.raw.body.split("\n\n")[0] in CHROME_TOP
        if "chrome-middle" in article.edits:
            assert any(line in CHROME_MIDDLE for line in article.raw.body.split("\n\n"))
        if "chrome-bottom" in article.edits:
            assert article.raw.body.split("\n\n")[-1] in CHROME_BOTTOM


def test_spelling_variants_swap_both_ways() -> None:
    assert _swap("Khmeimim and Hmeimim", "Khmeimim", "Hmeimim") == "Hmeimim and Khmeimim"


def test_rewrite_always_changes_something() -> None:
    import random

    paragraphs = ["One sentence here. Another one there.", "Short.", "Third paragraph. Yes."]
    for seed in range(50):
        out, edits = rewrite(paragraphs, random.Random(seed))
        assert edits
        assert out != paragraphs


def test_split_sentences() -> None:
    assert split_sentences("He said “Hi.” Then left. It cost 3.5 m? Yes.") == [
        "He said “Hi.”",
        "Then left.",
        "It cost 3.5 m?",
        "Yes.",
    ]


def test_load_bases_keeps_one_text_per_story_preferring_advanced(tmp_path: Path) -> None:
    rows = [
        {"id": "a-ele", "story": "a", "level": "elementary", "text": "easy a"},
        {"id": "a-adv", "story": "a", "level": "advanced", "text": "hard a"},
        {"id": "a-int", "story": "a", "level": "intermediate", "text": "mid a"},
        {"id": "b", "text": "only b"},
    ]
    path = tmp_path / "set.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in rows))
    bases = load_bases(path)
    assert [(b.name, b.text) for b in bases] == [("a-adv", "hard a"), ("b", "only b")]


def test_spec_is_validated() -> None:
    with pytest.raises(ValueError, match="duplicate_rate"):
        CorpusSpec(articles=10, duplicate_rate=1.0)
    with pytest.raises(ValueError, match="articles"):
        CorpusSpec(articles=-1)

"""Features: the opening the model reads is found from a prefix exactly as from the whole text;
the window's lexical candidates are remembered only until the postings change."""

from __future__ import annotations

from pathlib import Path

import pytest

import services.dedupe.features as features_module
from services.dedupe.features import Featurizer
from services.dedupe.index import Record, StoryIndex
from services.dedupe.minhash import MinHasher

SEEDS = sorted((Path(__file__).parents[2] / "seeds").glob("*.txt"))


@pytest.fixture(scope="module")
def featurizer() -> Featurizer:
    return Featurizer(MinHasher(128))


def test_openings_from_a_prefix_equal_openings_from_the_whole_text(
    featurizer: Featurizer, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeds = [p.read_text("utf-8") for p in SEEDS]
    texts = [
        *seeds,
        "\n\n".join(seeds),  # long: the prefix decides
        "x" * 5000,  # no whitespace to cut at: the whole text
        "word " * 3000,
        "tiny text",
        ("Supercalifragilistic" * 40 + " ") * 20,  # long words: few chunks in the prefix
        "x" * 700 + " " + seeds[0],  # one [UNK] piece fills the first prefix: the second one
        "y" * 2500 + " " + seeds[1],  # and the second: the whole text
    ]
    fast = featurizer.openings(texts)
    monkeypatch.setattr(features_module, "_CHARS_PER_PIECE", 10**7)
    monkeypatch.setattr(features_module, "_PREFIX_CHARS", 10**9)
    assert featurizer.openings(texts) == fast
    assert len(fast[len(seeds)]) < len(texts[len(seeds)])  # it was cut


def test_lexical_candidates_see_articles_added_after_a_query(featurizer: Featurizer) -> None:
    text = SEEDS[0].read_text("utf-8")
    terms = featurizer.terms(text)
    index = StoryIndex(bands=32)
    assert index.lexical_candidates(terms, 0.2) == []
    index.add(Record("a", "a", _features(featurizer, text), 0))
    assert [m.record.article_id for m in index.lexical_candidates(terms, 0.2)] == ["a"]
    index.evict_older_than(1)
    assert index.lexical_candidates(terms, 0.2) == []


def _features(featurizer: Featurizer, text: str) -> features_module.Features:
    return features_module.Features(
        "sha", featurizer.hasher.signature(text), None, featurizer.terms(text)
    )


def test_articles_without_terms_are_indexed_and_never_candidates() -> None:
    index = StoryIndex(bands=32)
    empty = features_module.Features("e", MinHasher(128).signature(""), None, {})
    index.add(Record("empty", "empty", empty, 0))
    index.freeze()
    assert index.lexical_candidates({1: 1.0}, 0.2) == []

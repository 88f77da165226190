"""TF-IDF vectors: the fast paths give exactly what the plain definition gives."""

from __future__ import annotations

import math
import random
from collections import Counter
from pathlib import Path

import pytest
from wordfreq import get_frequency_dict, word_frequency

from services.dedupe.lexical import SparseVector, WordfreqTfidf, cosine

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
EDGE_TEXTS = [
    "",
    "the of and to a",  # only words with idf 0
    "Zyxqvian zyxqvian ZYXQVIAN",  # unknown to wordfreq: the highest weight
    "Café naïve Ünïcödé straße İstanbul ﬁnance o'clock don’t _under_score x2y",
    "In 2024, 1,234 people paid $5.50; 19 of 20 said 3 3 3 3 3 3 3 3 3 3 3 3 3 3.",
    "word " * 300,  # a count beyond any small table
]


@pytest.fixture(scope="module")
def tfidf() -> WordfreqTfidf:
    return WordfreqTfidf()


def _reference_idf(word: str, doc_len: float = 500.0) -> float:
    f = max(float(word_frequency(word, "en")), 1e-8)
    return max(math.log(1.0 / -math.expm1(-f * doc_len)), 0.0)


def _reference_vector(text: str) -> SparseVector:
    """The definition as a plain loop, straight on ``wordfreq.word_frequency``."""
    weights: SparseVector = {}
    for term, n in Counter(WordfreqTfidf.tokens(text)).items():
        w = (1.0 + math.log(n)) * _reference_idf(term)
        if w > 0.0:
            weights[term] = w
    norm = math.sqrt(sum(w * w for w in weights.values()))
    return {t: w / norm for t, w in weights.items()} if norm else {}


def _texts() -> list[str]:
    return [path.read_text(encoding="utf-8") for path in sorted(SEEDS.glob("*.txt"))] + EDGE_TEXTS


@pytest.mark.parametrize("text", _texts())
def test_vector_is_bit_identical_to_the_plain_definition(tfidf: WordfreqTfidf, text: str) -> None:
    expected = _reference_vector(text)
    vector = tfidf.vector(text)
    assert list(vector.items()) == list(expected.items())  # same terms, order and bits
    if vector:
        assert cosine(vector, vector) == pytest.approx(1.0, abs=1e-12)


def test_plain_words_get_wordfreqs_idf_from_the_table_alone() -> None:
    """The shortcut assumes wordfreq leaves a lower-case ASCII word unchanged, so its frequency
    depends on its table entry only; checked on real vocabulary, a sample of the table (every
    frequency band) and words the table lacks, against ``word_frequency`` itself."""
    tfidf = WordfreqTfidf()
    vocabulary = {t for text in _texts() for t in WordfreqTfidf.tokens(text)}
    table = sorted(get_frequency_dict("en", "best"))
    sample = random.Random(0).sample(table, 3000)
    unknown = [f"qz{word}x" for word in sample[:300]]
    for word in [*sorted(vocabulary), *sample, *unknown]:
        assert tfidf.idf(word) == _reference_idf(word), word


def test_a_full_cache_is_cleared_and_values_do_not_change() -> None:
    tfidf = WordfreqTfidf(cache_size=8)
    text = (SEEDS / "000_3081120298a9be19.txt").read_text(encoding="utf-8")
    first = tfidf.vector(text)
    assert len(tfidf._idf_cache) <= 8
    assert tfidf.vector(text) == first == WordfreqTfidf().vector(text)

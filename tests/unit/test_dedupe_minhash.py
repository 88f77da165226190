"""MinHash and LSH: estimates track true Jaccard, and replicas agree on signatures."""

from __future__ import annotations

import random

import numpy as np
import pytest

from services.dedupe.minhash import MinHasher, band_keys, jaccard, shingles


def test_shingles_are_word_ngrams_and_short_texts_still_get_one() -> None:
    assert shingles("A b c d e f", size=5) == {"a b c d e", "b c d e f"}
    assert shingles("two words", size=5) == {"two words"}
    assert shingles("", size=5) == set()


def test_identical_texts_have_similarity_one_and_unrelated_near_zero() -> None:
    hasher = MinHasher(128)
    rng = random.Random(3)
    vocab = [f"w{i}" for i in range(5000)]
    a = " ".join(rng.choice(vocab) for _ in range(400))
    b = " ".join(rng.choice(vocab) for _ in range(400))
    assert jaccard(hasher.signature(a), hasher.signature(a)) == 1.0
    assert jaccard(hasher.signature(a), hasher.signature(b)) < 0.05


@pytest.mark.parametrize("true_jaccard", [0.2, 0.5, 0.8])
def test_estimate_is_within_sampling_error_of_the_true_jaccard(true_jaccard: float) -> None:
    hasher = MinHasher(256, seed=7)
    union = [f"s{i}" for i in range(1000)]
    shared = int(true_jaccard * len(union))
    rest = union[shared:]
    set_a = set(union[:shared]) | set(rest[: len(rest) // 2])
    set_b = set(union[:shared]) | set(rest[len(rest) // 2 :])
    estimate = jaccard(hasher.signature_of(set_a), hasher.signature_of(set_b))
    # standard error of the estimator is sqrt(J(1-J)/k) <= 0.032 for k=256: allow 4 sigma
    assert abs(estimate - true_jaccard) < 0.13


def test_same_seed_gives_the_same_signature_in_every_replica() -> None:
    text = "the same text seen by two replicas of the dedupe service"
    assert np.array_equal(
        MinHasher(64, seed=1).signature(text), MinHasher(64, seed=1).signature(text)
    )
    assert not np.array_equal(
        MinHasher(64, seed=1).signature(text), MinHasher(64, seed=2).signature(text)
    )


def test_band_keys_split_the_signature_and_equal_bands_collide() -> None:
    hasher = MinHasher(128)
    sig = hasher.signature("one two three four five six seven")
    keys = band_keys(sig, 32)
    assert len(keys) == len(set(keys)) == 32
    other = sig.copy()
    other[0] += 1  # changes band 0 only
    assert set(band_keys(other, 32)) & set(keys) == set(keys[1:])

"""MinHash and LSH: estimates track true Jaccard, and replicas agree on signatures."""

from __future__ import annotations

import hashlib
import random
import re
import zlib
from pathlib import Path

import numpy as np
import pytest

from services.dedupe.minhash import MinHasher, Signature, band_keys, jaccard, shingles, words


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


# --- the multiply-add-shift family: pinned, exact, and unbiased on real text -------------------

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
TEXT = (
    "Grain prices rose on Tuesday after heavy rain delayed the harvest across the northern "
    "plains, traders said, while the port strike entered its third week."
)
UNRELATED = (
    "The city council approved a new budget for public libraries on Monday, adding evening "
    "hours at six branches and funding a mobile reading van for schools in outlying districts. "
    "Council members said the plan would be paid for by savings on street lighting, after the "
    "switch to LED lamps cut the electricity bill by a third last year. Librarians welcomed the "
    "decision but warned that staffing remained thin, with several posts still vacant since the "
    "spring, and asked for a review of salaries before the next budget round."
)


def _digest(signature: Signature) -> str:
    return hashlib.sha256(signature.astype("<u8").tobytes()).hexdigest()


def test_the_family_is_pinned_so_replicas_and_releases_agree() -> None:
    """Signatures are logged and compared across processes, machines and releases: a change of
    family (parameters, shingle keys, word hashing) would silently stop old and new signatures
    from matching. If this fails on purpose, the stored signatures must be recomputed."""
    signature = MinHasher(128, seed=1).signature(TEXT)
    assert signature[:4].tolist() == [76762322, 147892117, 69777840, 575638982]
    assert _digest(signature) == (
        "e672ee54de9a54a79950cac02ee3c2b57dc69cd5b711123ae2f3878d01ebc43e"
    )
    assert MinHasher(128, seed=1).signature("Port strike")[:4].tolist() == [
        1815926828,
        602308202,
        3440623563,
        3749982720,
    ]
    assert _digest(MinHasher(64, seed=12345, shingle_size=3).signature(TEXT)) == (
        "18fbb70a47adcd28d991998cbf57c134e8eab469d83ae6d1948dd7c59ae93972"
    )
    assert _digest(MinHasher(128, seed=1).signature_of(["alpha", "beta gamma", "x y z w v u"])) == (
        "7e87baa4a0a4ec892cbd89c8f6700cbdc8843469fa1d4afd198a7c0887865bf3"
    )


_M64 = (1 << 64) - 1


def _splitmix64(state: int) -> int:
    z = (state + 0x9E3779B97F4A7C15) & _M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    return z ^ (z >> 31)


def _reference_signature(text: str, num_perm: int, seed: int, size: int) -> list[int]:
    """The documented family in plain Python integers (no numpy wrap-around)."""

    def parameter(stream: int, index: int) -> int:
        start = _splitmix64(_splitmix64(seed) ^ stream)
        return _splitmix64((start + index * 0x9E3779B97F4A7C15) & _M64)

    def key(window: list[str]) -> int:
        total = parameter(2, len(window))
        for i, word in enumerate(window):
            total += parameter(1, i) * zlib.crc32(word.encode("utf-8"))
        return (total & _M64) >> 32

    tokens = words(text)
    width = min(size, len(tokens))
    keys = {key(tokens[i : i + width]) for i in range(len(tokens) - width + 1)}
    return [
        min(((parameter(0, 2 * j) * x + parameter(0, 2 * j + 1)) & _M64) >> 32 for x in keys)
        for j in range(num_perm)
    ]


@pytest.mark.parametrize(
    ("text", "size"), [(TEXT, 5), (TEXT, 3), ("Port strike", 5), ("one two three four five", 5)]
)
def test_vectorized_signature_is_the_documented_family(text: str, size: int) -> None:
    expected = _reference_signature(text, 32, 7, size)
    assert MinHasher(32, seed=7, shingle_size=size).signature(text).tolist() == expected


@pytest.mark.parametrize(
    "text",
    ["", "Word", "Two words", "a b c d", "a b c d e", "A b c d e f", "x, y; x y x y x y", TEXT],
)
def test_signature_equals_signature_of_its_shingles(text: str) -> None:
    hasher = MinHasher(64, seed=3)
    assert np.array_equal(hasher.signature(text), hasher.signature_of(shingles(text)))


def test_signatures_are_uint64_holding_32_bit_hashes_and_empty_text_matches_nothing() -> None:
    hasher = MinHasher(128)
    signature = hasher.signature(TEXT)
    assert signature.dtype == np.uint64 and signature.shape == (128,)
    assert int(signature.max()) < 1 << 32
    empty = hasher.signature("  ... !")
    assert np.all(empty == np.iinfo(np.uint64).max)
    assert jaccard(empty, signature) == 0.0


def _real_pairs() -> dict[str, tuple[str, str]]:
    """Pairs of real news texts (``seeds/``: five reports of one event) and edits of them,
    spanning exact Jaccard from ~0.08 (rewrites) to ~0.93 (one sentence dropped)."""
    texts = [path.read_text(encoding="utf-8") for path in sorted(SEEDS.glob("*.txt"))]

    def paragraphs(text: str) -> list[str]:
        return [p for p in text.split("\n") if p.strip()]

    a, b, c, d, e = texts
    sentences = re.split(r"(?<=[.!?])\s+", a.strip())
    mixed = (
        q if i % 2 else p for i, (p, q) in enumerate(zip(paragraphs(b), paragraphs(d), strict=True))
    )
    return {
        "one sentence dropped": (a, " ".join(s for i, s in enumerate(sentences) if i != 5)),
        "paragraphs reversed": (b, "\n".join(reversed(paragraphs(b)))),
        "first half": (c, "\n".join(paragraphs(c)[: len(paragraphs(c)) // 2])),
        "shared middle": (f"{a}\n{b}", f"{b}\n{c}"),
        "every other paragraph": (b, "\n".join(mixed)),
        "rewrite": (d, e),
    }


def _exact_jaccard(a: str, b: str) -> float:
    sa, sb = shingles(a), shingles(b)
    return len(sa & sb) / len(sa | sb)


@pytest.mark.parametrize("pair", list(_real_pairs()))
def test_estimate_tracks_the_exact_jaccard_of_real_texts(pair: str) -> None:
    a, b = _real_pairs()[pair]
    hasher = MinHasher(128, seed=1)
    # standard error sqrt(J(1-J)/128) <= 0.044
    assert abs(jaccard(hasher.signature(a), hasher.signature(b)) - _exact_jaccard(a, b)) < 0.1


def test_estimate_is_unbiased_across_families() -> None:
    """Averaged over 40 seeds the error of each pair must vanish (standard error of the mean
    <= 0.007): a 2-independent family could bias MinHash on structured keys (module docstring)."""
    pairs = list(_real_pairs().values())
    exact = np.array([_exact_jaccard(a, b) for a, b in pairs])
    estimates = np.zeros(len(pairs))
    for seed in range(1, 41):
        hasher = MinHasher(128, seed=seed)
        estimates += [jaccard(hasher.signature(a), hasher.signature(b)) for a, b in pairs]
    errors = estimates / 40 - exact
    assert np.abs(errors).max() < 0.03
    assert abs(errors.mean()) < 0.015


def test_near_copies_estimate_high_and_unrelated_texts_low() -> None:
    hasher = MinHasher(128, seed=1)
    pairs = _real_pairs()
    original, edited = pairs["one sentence dropped"]
    assert jaccard(hasher.signature(original), hasher.signature(edited)) > 0.85
    for text in {t for pair in pairs.values() for t in pair}:
        assert jaccard(hasher.signature(text), hasher.signature(UNRELATED)) < 0.05

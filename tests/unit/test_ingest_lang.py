"""Language detection returns ISO 639-1 codes, or 'und' when it cannot tell, and its fast
tokenizer walk gives py3langid's own scores to the bit."""

from __future__ import annotations

import random
import re
from typing import TypeVar

import numpy as np
import pytest
from py3langid.langid import MODEL_FILE, LanguageIdentifier, visit_counts

from services.ingest import lang
from services.ingest.lang import (
    PROVEN_MODEL,
    SYNC_BYTES,
    _first_occurrences,
    _identifier,
    detect_language,
    feature_counts,
    model_digest,
)

_L = TypeVar("_L", bound=LanguageIdentifier)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("The central bank raised interest rates on Thursday, citing persistent inflation.", "en"),
        (
            "Die Zentralbank hat am Donnerstag die Zinsen erhöht und verwies auf die Inflation.",
            "de",
        ),
        ("La banque centrale a relevé jeudi ses taux, invoquant une inflation persistante.", "fr"),
        (
            "El banco central subió el jueves los tipos de interés por la inflación persistente.",
            "es",
        ),
        ("Центральный банк в четверг повысил ключевую ставку, сославшись на инфляцию.", "ru"),
        ("Центральний банк у четвер підвищив облікову ставку через стійку інфляцію.", "uk"),
    ],
)
def test_languages_are_detected(text: str, code: str) -> None:
    assert detect_language(text) == code


@pytest.mark.parametrize("text", ["", "12:32 15.12.2024", "ok", "*** --- ***"])
def test_too_little_text_is_undetermined(text: str) -> None:
    assert detect_language(text) == "und"


@pytest.fixture(scope="module")
def reference() -> LanguageIdentifier:
    """py3langid exactly as shipped, to compare the faster walk with."""
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def _samples() -> list[str | bytes]:
    rng = random.Random(7)
    texts: list[str | bytes] = [
        "",
        "a",
        "ab",
        "abcde",
        "abcdef",
        "ABCDEFG",
        "12:32 15.12.2024",
        "The central bank raised interest rates on Thursday, citing persistent inflation. " * 12,
        "Die Zentralbank hat am Donnerstag die Zinsen erhöht und verwies auf die Inflation.",
        "Центральный банк в четверг повысил ключевую ставку, сославшись на инфляцию.",
        "中央银行周四提高了利率，理由是通货膨胀持续。 日本銀行は木曜日に金利を引き上げた。",
        "البنك المركزي رفع أسعار الفائدة يوم الخميس",
        "Ang bangko sentral ay nagtaas ng interes noong Huwebes. The bank said inflation persists.",
    ]
    texts += [bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 400))) for _ in range(200)]
    blocks = [(0x20, 0x24F), (0x370, 0x6FF), (0x900, 0xDFF), (0x3040, 0x9FFF)]
    for _ in range(200):
        chars = [chr(rng.randint(*rng.choice(blocks))) for _ in range(rng.randint(0, 300))]
        texts.append("".join(chars))
    return texts


def test_feature_counts_are_the_librarys_walk(reference: LanguageIdentifier) -> None:
    tables = (
        np.frombuffer(
            memoryview(reference.tk_nextmove), dtype=f"u{reference.tk_nextmove.itemsize}"
        ),
        np.asarray(reference._rowbase, dtype=np.int64),
        np.asarray(reference.tk_output, dtype=np.int64),
    )
    for text in _samples():
        data = reference._encode(text)
        ids, counts = feature_counts(data, *tables)
        walked = visit_counts(reference.tk_nextmove, reference._rowbase, reference.tk_output, data)
        assert list(zip(ids.tolist(), counts.tolist(), strict=True)) == list((walked or {}).items())


def test_first_occurrences_are_uniques_in_order_of_first_index() -> None:
    """The sort-and-mask grouping gives what ``np.unique`` with an argsort of its first
    indices gives: the same values, counts and order (the scores' summation order)."""
    rng = np.random.default_rng(11)
    arrays = [np.zeros(0, dtype=np.int64), np.array([5]), np.array([3, 3, 3]), np.arange(9)[::-1]]
    arrays += [rng.integers(0, high, size) for high in (2, 50, 100_000) for size in (1, 7, 999)]
    for found in arrays:
        ids, first, counts = np.unique(found, return_index=True, return_counts=True)
        order = np.argsort(first)
        got_ids, got_counts = _first_occurrences(found)
        assert got_ids.dtype == np.intp and got_counts.dtype == np.float32
        assert got_ids.tolist() == ids[order].tolist()
        assert got_counts.tolist() == counts[order].astype(np.float32).tolist()


def test_scores_are_the_librarys_to_the_bit(reference: LanguageIdentifier) -> None:
    ours = _identifier()
    for text in _samples():
        assert ours._decide(text).tobytes() == reference._decide(text).tobytes(), repr(text)
        assert ours.classify(text) == reference.classify(text)


def test_the_shipped_model_is_the_proven_one() -> None:
    ours = _identifier()
    assert model_digest(ours.tk_nextmove, ours.tk_row) == PROVEN_MODEL
    assert ours._tables is not None  # the fast walk is in use


def test_the_tokenizer_forgets_its_start_after_sync_bytes(reference: LanguageIdentifier) -> None:
    """The proof behind ``SYNC_BYTES``: follow every pair (state reached from any start, state
    reached from the start state) through every byte; pairs that meet stay together, and
    after ``SYNC_BYTES`` bytes none are apart. One byte fewer is not enough."""
    nextmove = np.frombuffer(
        memoryview(reference.tk_nextmove), dtype=f"u{reference.tk_nextmove.itemsize}"
    ).astype(np.int64)
    rowbase = np.asarray(reference._rowbase, dtype=np.int64)
    states = rowbase.size
    every_byte = np.arange(256, dtype=np.int64)
    apart = np.arange(1, states, dtype=np.int64) * states  # (any state, start state)
    remaining = []
    for _ in range(SYNC_BYTES):
        found = []
        for chunk in np.array_split(apart, max(1, apart.size // 100_000)):
            left = nextmove[(rowbase[chunk // states][:, None] + every_byte).ravel()]
            right = nextmove[(rowbase[chunk % states][:, None] + every_byte).ravel()]
            differ = left != right
            found.append(np.unique(left[differ] * states + right[differ]))
        apart = np.unique(np.concatenate(found))
        remaining.append(apart.size)
    assert remaining[-1] == 0
    assert remaining[-2] > 0


def test_an_unproven_model_keeps_the_librarys_walk(
    reference: LanguageIdentifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lang, "PROVEN_MODEL", "some other model")
    unproven = _built_like(lang._Identifier, reference)
    assert unproven._tables is None
    text = "Die Zentralbank hat am Donnerstag die Zinsen erhöht."
    assert unproven.classify(text) == reference.classify(text)


def test_a_language_subset_is_scored_by_the_library(reference: LanguageIdentifier) -> None:
    """set_languages() swaps the weights: the widened copy of the full table must not be used."""
    subset = _built_like(lang._Identifier, reference)
    restricted = _built_like(LanguageIdentifier, reference)
    subset.set_languages(["de", "nl"])
    restricted.set_languages(["de", "nl"])
    text = "The central bank raised interest rates on Thursday."
    assert subset._decide(text).tobytes() == restricted._decide(text).tobytes()


def _built_like(kind: type[_L], reference: LanguageIdentifier) -> _L:
    """A fresh identifier over the reference's model tables."""
    return kind(
        reference.nb_ptc,
        reference.nb_pc,
        reference.nb_classes,
        reference.tk_nextmove,
        reference.tk_output,
        norm_probs=True,
        tk_row=reference.tk_row,
    )


def test_has_letters_counts_what_deleting_non_letters_leaves() -> None:
    not_letters = re.compile(r"[\W\d_]+")
    rng = random.Random(17)
    alphabet = ["a", "É", "ж", "中", "_", "1", "٣", "²", " ", ".", "\n", "ab_c", "x2y"]
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        for least in (1, 5, 20):
            expected = len(not_letters.sub("", text)) >= least
            assert lang._has_letters(text, least) == expected, repr(text)

"""Lexical similarity for story dedupe: unigram TF-IDF with a *fixed* IDF from wordfreq.

Why a fixed background IDF
--------------------------
The dedupe service sees an unbounded stream, replicated across processes; an
IDF fitted on "the documents seen so far" would change every score over time
and differ between replicas. ``wordfreq`` (Apache-2.0 code; data under
CC-BY-SA 4.0, see its README) ships English word frequencies from a large
mixed corpus, so the IDF is the same everywhere, needs no fitting and no eval
data. Measured on SemEval-2022 en pairs this unigram variant beats an IDF fitted
on a held-out eval set (AUC 0.951 vs 0.922 for 1-2 grams fitted on the other
set).

From word frequency to IDF
--------------------------
IDF needs a *document* frequency. Under a Poisson model a word with corpus
frequency ``f`` occurs in a document of ``L`` tokens with probability
``df = 1 - exp(-f * L)``; ``idf = log(1 / df)``. Very common words get
idf ~ 0 (like real IDF), rare words ~ log(1/(f L)). Words wordfreq does not know
(names, typos, numbers outside its table) get ``f = 1e-8``, i.e. the highest
weight, which is what names deserve in news dedupe. ``L = 500`` is a typical
news article length; the ranking is insensitive to it within 200..1000.

Bigrams were measured too and are *not* used: wordfreq has no bigram table, and
approximating bigram IDF from unigrams lowered AUC (0.925 vs 0.951).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from functools import lru_cache
from typing import Final

__all__ = ["SparseVector", "WordfreqTfidf", "cosine"]

#: term -> weight, L2-normalised. A dict keeps storage/Redis encoding trivial.
SparseVector = dict[str, float]

_TOKEN: Final = re.compile(r"\w+", re.UNICODE)
_UNKNOWN_FREQ: Final = 1e-8


class WordfreqTfidf:
    """Vectorise texts as L2-normalised sublinear-TF x wordfreq-IDF unigram vectors."""

    def __init__(
        self, *, lang: str = "en", doc_len: float = 500.0, cache_size: int = 200_000
    ) -> None:
        """``lang`` selects wordfreq's table; ``doc_len`` is L in the df model."""
        from wordfreq import word_frequency  # imported here: loading its table takes ~0.3 s

        self._lang = lang
        self._doc_len = doc_len
        self._word_frequency = word_frequency

        @lru_cache(maxsize=cache_size)
        def idf(word: str) -> float:
            f = max(float(self._word_frequency(word, self._lang)), _UNKNOWN_FREQ)
            df = -math.expm1(-f * self._doc_len)
            return max(math.log(1.0 / df), 0.0)

        self.idf = idf

    @staticmethod
    def tokens(text: str) -> list[str]:
        """Lower-cased ``\\w+`` tokens (Unicode-aware; keeps numbers, which tell events apart)."""
        return _TOKEN.findall(text.lower())

    def vector(self, text: str) -> SparseVector:
        """Return the normalised TF-IDF vector; empty dict for text with no weighted term."""
        weights: SparseVector = {}
        for term, n in Counter(self.tokens(text)).items():
            w = (1.0 + math.log(n)) * self.idf(term)
            if w > 0.0:
                weights[term] = w
        norm = math.sqrt(sum(w * w for w in weights.values()))
        if norm == 0.0:
            return {}
        return {t: w / norm for t, w in weights.items()}


def cosine(a: SparseVector, b: SparseVector) -> float:
    """Cosine of two normalised sparse vectors (iterates the smaller one)."""
    if len(a) > len(b):
        a, b = b, a
    return sum(w * b.get(t, 0.0) for t, w in a.items())

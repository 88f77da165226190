"""Language of an article, as an ISO 639-1 code or ``und``.

py3langid (a maintained fork of langid.py, BSD-3; Lui & Baldwin 2012, naive Bayes over byte
n-grams) ships its 97-language model inside the wheel, loads once in about a second and
classifies a 3 KB article in about 1 ms, so no model is fetched at run time and no replica
waits on a network. lingua is more accurate on very short strings but its wheel and memory are
an order of magnitude larger; ingest always has a whole article, where langid is accurate.

The scores are py3langid's own, to the bit; two of its steps are done faster, because they
were most of its time: the tokenizer walk, a Python loop over every byte (see
:func:`feature_counts`), and the widening of its float16 weights on every call.
"""

from __future__ import annotations

import functools
import hashlib
import re
import threading
from typing import Any

import numpy as np
import numpy.typing as npt
from py3langid.langid import MODEL_FILE, LanguageIdentifier

__all__ = ["UNDETERMINED", "detect_language", "feature_counts", "model_digest"]

UNDETERMINED = "und"
# The first 1,000 characters (a few sentences) decide as well as the whole text for news
# prose, at a third of the cost of 3,000 (langid's cost is linear in the sample).
_SAMPLE_CHARS = 1000
_MIN_LETTERS = 20
_MIN_CONFIDENCE = 0.5
_LETTERS = re.compile(r"[^\W\d_]+")
_lock = threading.Lock()

SYNC_BYTES = 6
"""After this many bytes the model's tokenizer (an Aho-Corasick automaton over byte n-grams,
the deepest of its states six bytes from the start) is in the same state whatever state it
started from: so the state at each byte is a function of the six bytes ending there, and all
states can be computed at once instead of byte after byte. Proven for the model
``PROVEN_MODEL`` names by following every pair of states through every byte
(``tests/unit/test_ingest_lang.py`` repeats the proof)."""
PROVEN_MODEL = "d4bc2116aa453159bf640bd0e93b80aa"
""":func:`model_digest` of py3langid 0.4.0's model; any other model takes the library's walk."""

Table = npt.NDArray[np.integer[Any]]


def model_digest(nextmove: Any, rows: Any) -> str:
    """Digest of a tokenizer's transition table (``tk_nextmove``, ``tk_row``): the property
    ``SYNC_BYTES`` states was proven for one table, and holds for no other by default."""
    digest = hashlib.blake2b(memoryview(nextmove).cast("B"), digest_size=16)
    digest.update(memoryview(rows).cast("B"))
    return digest.hexdigest()


def feature_counts(
    data: bytes, nextmove: Table, rowbase: Table, output: Table, sync: int = SYNC_BYTES
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float32]]:
    """Feature ids and their counts in a byte string, in order of first occurrence: what
    py3langid's ``visit_counts`` returns (as the arrays its scoring makes of it), for a
    tokenizer that forgets its start after ``sync`` bytes.

    Step k moves every position's state by the byte k places back from it, oldest first, so
    after ``sync`` steps each position holds the state the byte-by-byte walk reaches there
    (positions nearer the start than ``sync`` walk from the start, as that walk does). The
    order of first occurrence is kept because the scores sum the features in that order, and
    float sums in another order could differ in the last bit.
    """
    codes = np.frombuffer(data, dtype=np.uint8).astype(np.int64)
    states = np.zeros(codes.size, dtype=np.int64)
    for back in range(min(sync, codes.size) - 1, -1, -1):
        moved = states[back:]
        states[back:] = nextmove[rowbase[moved] + codes[: codes.size - back]]
    found = output[states]
    return _first_occurrences(found[found >= 0])


def _first_occurrences(
    found: npt.NDArray[np.integer[Any]],
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float32]]:
    """The distinct values of ``found`` in order of first occurrence, and how often each occurs.

    One stable sort groups equal values with their positions in increasing order, so each
    group's first position is its first occurrence. Those positions are distinct, so marking
    them in a mask of ``found``'s length and reading the mask back in order puts the groups in
    order of first occurrence without a second sort: a third less time than ``np.unique`` with
    its index and counts plus an ``argsort`` of the indices (measured on 1 KB news samples).
    """
    size = found.size
    perm = np.argsort(found, kind="stable")
    ordered = found[perm]
    edges = np.empty(size + 1, dtype=bool)  # where a run of equal values starts, and the end
    edges[0] = edges[size] = True
    np.not_equal(ordered[1:], ordered[:-1], out=edges[1:size])
    bounds = np.flatnonzero(edges)
    firsts = perm[bounds[:-1]]
    is_first = np.zeros(size, dtype=bool)
    is_first[firsts] = True
    counts = np.empty(size, dtype=np.float32)
    counts[firsts] = bounds[1:] - bounds[:-1]
    return found[is_first].astype(np.intp), counts[is_first]


def _view(table: Any) -> Table:
    """A stdlib ``array`` of unsigned ints as a NumPy array sharing its memory."""
    return np.frombuffer(memoryview(table), dtype=f"u{table.itemsize}")


class _Identifier(LanguageIdentifier):  # type: ignore[misc]  # py3langid ships no types
    """py3langid's identifier with :func:`feature_counts` in place of its byte loop when the
    model is the proven one; normalization and the decision stay the library's, and the
    scores are its ``_sparse_score`` on the same arrays, so they are equal to the bit.

    The model's weights are stored as float16, which the scoring widens to float32 row by
    row on every call (40 % of a classification, profiled); widening the table once costs
    57 MB and gives the same float32 values.
    """

    __slots__ = ("_tables", "_widened")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._tables: tuple[Table, Table, Table] | None = None
        self._widened: tuple[Any, npt.NDArray[np.float32]] | None = None
        if model_digest(self.tk_nextmove, self.tk_row) == PROVEN_MODEL:
            self._tables = (
                _view(self.tk_nextmove),  # 10 M entries: a view, not a copy
                np.asarray(self._rowbase, dtype=np.int64),
                np.asarray(self.tk_output, dtype=np.int64),
            )
            self._widened = (self.nb_ptc, self.nb_ptc.astype(np.float32))

    def _raw_score(self, text: bytes) -> Any:
        # set_languages() swaps the weights for a subset: the widened copy is then stale
        if self._tables is None or self._widened is None or self._widened[0] is not self.nb_ptc:
            return super()._raw_score(text)
        ids, counts = feature_counts(text, *self._tables)
        if not ids.size:
            return super()._raw_score(text)  # the library's score for featureless input
        # py3langid's ``_sparse_score``, given the arrays it would build from its Counter
        weights = np.take(self._widened[1], ids, axis=0)
        return np.log1p(counts) @ weights + self.nb_pc


@functools.cache
def _identifier() -> LanguageIdentifier:
    with _lock:
        return _Identifier.from_model_file(MODEL_FILE, norm_probs=True)


def _has_letters(text: str, least: int) -> bool:
    r"""Whether the text holds at least ``least`` letters (``[^\W\d_]``), reading only as many
    runs of them as it takes: deleting every non-letter run to count the rest cost 15 us on
    the 400-character head of an article, the first words answer in about one."""
    letters = 0
    for run in _LETTERS.finditer(text):
        letters += run.end() - run.start()
        if letters >= least:
            return True
    return False


def detect_language(text: str) -> str:
    """ISO 639-1 code, or ``und`` for too little text, low confidence, or no 639-1 code."""
    sample = text[:_SAMPLE_CHARS]
    if not _has_letters(sample[: _MIN_LETTERS * 20], _MIN_LETTERS):
        return UNDETERMINED
    code, confidence = _identifier().classify(sample)
    if confidence < _MIN_CONFIDENCE or len(code) != 2:
        return UNDETERMINED
    return str(code)

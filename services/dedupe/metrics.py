"""Dedupe's own metrics: what its encoders cost, per encoder.

The model work is most of dedupe's cost and differs 10x between encoders (MiniLM ~30 ms of
CPU an article, USE ~19, multilingual-e5-small ~290: docs/dedupe.md), and which one runs
depends on the stream's languages; an operator whose batches slow down needs to see which.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

EMBEDDED = Counter(
    "wiredesk_dedupe_embedded_total",
    "Openings embedded by this replica, per encoder (minilm, use, e5)",
    ["encoder"],
)
EMBED_SECONDS = Histogram(
    "wiredesk_dedupe_embed_seconds",
    "Wall time of one batched embedding call, per encoder",
    ["encoder"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)

"""The arithmetic of the report, kept pure so it can be unit-tested without a pipeline.

Percentiles use linear interpolation between closest ranks (numpy's default, "type 7"), so a
reader can reproduce any number from the raw samples with ``numpy.percentile``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

from wiredesk.streaming import id_ms, text_of


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) with linear interpolation; ValueError when empty."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"q must be in [0, 100]: {q}")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = math.ceil(rank)
    if low == high:
        return float(ordered[low])
    return float(ordered[low] + (ordered[high] - ordered[low]) * (rank - low))


def summarize(values: Sequence[float], *, digits: int = 2) -> dict[str, float | int]:
    """n, mean, p50, p95, p99 and max of a sample (e.g. latencies in ms)."""
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "mean": round(sum(values) / len(values), digits),
        "p50": round(percentile(values, 50), digits),
        "p95": round(percentile(values, 95), digits),
        "p99": round(percentile(values, 99), digits),
        "max": round(max(values), digits),
    }


def ratio(numerator: float, denominator: float, *, digits: int = 3) -> float | None:
    """numerator / denominator, None when the denominator is zero (nothing to compare with)."""
    if denominator == 0:
        return None
    return round(numerator / denominator, digits)


def rate(count: int, seconds: float) -> float:
    """Events per second; 0 for an empty or instantaneous interval rather than a division error."""
    if count <= 0 or seconds <= 0:
        return 0.0
    return count / seconds


def entry_ms(entry_id: str | bytes) -> int:
    """The millisecond timestamp of a stream entry id (``<ms>-<seq>``): when Redis added it."""
    return id_ms(text_of(entry_id))


def span_rate(count: int, first_ms: float, last_ms: float) -> float:
    """Entries per second between the first and last of ``count`` timestamps.

    ``count - 1`` intervals lie between first and last; with millisecond timestamps and short
    spans the interval is floored at 1 ms so a burst does not divide by zero.
    """
    if count <= 1:
        return 0.0
    return (count - 1) / (max(last_ms - first_ms, 1.0) / 1000.0)


def iso_to_ms(value: str) -> float:
    """An ISO-8601 time with offset (the store's ``stored_at``) as epoch milliseconds."""
    return datetime.fromisoformat(value).timestamp() * 1000.0


def growth(costs: dict[int, float]) -> dict[str, float | bool | None]:
    """How a per-article cost grows with the window: ratio of largest to smallest size.

    ``sublinear`` holds when the cost grew by less than the window did (a linear scan would grow
    with it); ``within_2x`` is the issue's target for 100x the window.
    """
    if len(costs) < 2:
        return {"cost_ratio": None, "size_ratio": None, "sublinear": None, "within_2x": None}
    smallest, largest = min(costs), max(costs)
    cost_ratio = ratio(costs[largest], costs[smallest])
    size_ratio = largest / smallest
    return {
        "cost_ratio": cost_ratio,
        "size_ratio": size_ratio,
        "sublinear": cost_ratio is not None and cost_ratio < size_ratio,
        "within_2x": cost_ratio is not None and cost_ratio <= 2.0,
    }

"""Values the alert rules need that Redis does not export by itself.

``redis_exporter`` reports a group's pending count but not how old its oldest pending entry is;
a count that stays flat can hide one entry stuck for an hour behind a steady flow. The stages
therefore export ``wiredesk_group_oldest_pending_seconds`` (deploy/monitoring/alerts.yml,
``WiredeskOldestPendingGrowing``), computed here from ``XPENDING``'s summary form.
"""

from __future__ import annotations

import time
from typing import Any

from redis.asyncio import Redis

from wiredesk.observability import DEAD_LETTERED, FAILED, LATENCY, PROCESSED, RECLAIMED
from wiredesk.streaming import id_ms, text_of


def entry_age_s(entry_id: str, *, now_ms: int | None = None) -> float:
    """Seconds since the entry was added: a stream id starts with its milliseconds timestamp."""
    now = int(time.time() * 1000) if now_ms is None else now_ms
    ms = id_ms(entry_id)
    return max(0.0, (now - ms) / 1000)


async def oldest_pending_age_s(redis: Redis, stream: str, group: str) -> float:
    """Age of the lowest id pending for ``group`` (0 when nothing is pending).

    The age counts from when the entry entered the stream, not from its last delivery: what an
    operator wants to know is how long an article has been held up, whoever holds it.
    """
    summary: Any = await redis.xpending(stream, group)
    if not summary or not summary.get("pending"):
        return 0.0
    lowest = summary.get("min")
    if lowest is None:
        return 0.0
    return entry_age_s(text_of(lowest))


#: Every reason code wiredesk's stages dead-letter with (wiredesk.messages, the ingest
#: normalizer, the reclaim loop). docs/messages.md explains each.
DEAD_LETTER_REASONS = (
    "missing-data",
    "too-large",
    "invalid-json",
    "undecodable",
    "schema-violation",
    "max-attempts",
    "empty",
    "too-short",
)


def register_stage_series(stage: str, outcomes: tuple[str, ...] = ()) -> None:
    """Create the stage's labelled series at 0 before their first event.

    A labelled counter is born at its first increment, and Prometheus's ``rate()`` and
    ``increase()`` cannot see that first step (there is no earlier sample): without this, the
    first dead letter of a reason would never fire ``WiredeskDeadLetters``, and a stage that
    handled one burst right after starting would be missing from the throughput panel (a
    series with one sample has no rate). ``outcomes`` are the stage's own
    ``wiredesk_processed_total`` outcome labels (``Stage.outcomes``).
    """
    for reason in DEAD_LETTER_REASONS:
        DEAD_LETTERED.labels(stage, reason)
    for outcome in outcomes:
        PROCESSED.labels(stage, outcome)
    FAILED.labels(stage)
    RECLAIMED.labels(stage)
    LATENCY.labels(stage)

"""Drives the running services (ingest, dedupe, store as processes on the suite's Redis) with
every hostile case, one at a time, each followed in the same pipeline by a valid probe article.

Per case it records what became of the bad entry (dead letter and its reason, stored, or
nothing yet), how long that took, and how long the probe behind it waited to be stored. The
claim idle time is the production default (30 s), so an entry that stalls its batch shows up
as a ~30 s wait instead of being hidden by a fast reclaim.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from services.store.sqlite import SqliteStore
from tests.hostile.cases import MAX_BODY_CHARS, MAX_MESSAGE_BYTES, Case, probe_fields
from wiredesk.app.launcher import ServiceProcesses
from wiredesk.messages import DeadLetter, decode_entry
from wiredesk.settings import Streams

CASE_TIMEOUT_S = 8.0
DLQ_MAX_PAYLOAD_BYTES = 4096


@dataclass
class Outcome:
    case: Case
    got: str  # "dlq", "stored", "dropped", "nothing"
    reason: str = ""
    error: str = ""
    outcome_s: float = 0.0
    probe_wait_s: float | None = None
    stored_ok: bool | None = None
    letter_bytes: int = 0  # size of the dead-letter entry (bounded by the payload limit)
    letter_truncated: bool = False


def service_env(redis_url: str, namespace: str, db_path: Path) -> dict[str, str]:
    return {
        "REDIS_URL": redis_url,
        "WIREDESK_KEY_PREFIX": f"{namespace}wd",
        "WIREDESK_DATABASE_URL": f"sqlite:///{db_path}",
        "WIREDESK_CLAIM_IDLE_MS": "30000",  # production default: a stall shows as ~30 s
        "WIREDESK_CLAIM_INTERVAL_S": "5",
        "WIREDESK_SEMANTIC": "false",
        "WIREDESK_MAX_MESSAGE_BYTES": str(MAX_MESSAGE_BYTES),
        "WIREDESK_MAX_RAW_BYTES": str(MAX_MESSAGE_BYTES),  # the raw entry limit, kept small here
        "WIREDESK_MAX_BODY_CHARS": str(MAX_BODY_CHARS),
        "WIREDESK_DLQ_MAX_PAYLOAD_BYTES": str(DLQ_MAX_PAYLOAD_BYTES),
        "WIREDESK_LOG_LEVEL": "WARNING",
        **Streams().prefixed(namespace).env(),
    }


async def run_cases(
    cases: list[Case], *, redis_url: str, tmp: Path
) -> tuple[dict[str, Outcome], ServiceProcesses, dict[str, Any]]:
    namespace = f"h{uuid.uuid4().hex[:8]}:"
    streams = Streams().prefixed(namespace)
    db_path = tmp / "store.db"
    env = service_env(redis_url, namespace, db_path)
    store = SqliteStore.from_url(env["WIREDESK_DATABASE_URL"])
    store.migrate()
    redis = Redis.from_url(redis_url)
    by_stream = {
        "raw": streams.raw,
        "normalized": streams.normalized,
        "annotated": streams.annotated,
    }
    services = ServiceProcesses(env, log_dir=tmp / "logs").start()
    outcomes: dict[str, Outcome] = {}
    try:
        await _warm_up(redis, store, by_stream["raw"])
        for n, case in enumerate(cases):
            probe_id = f"probe-{n}-{uuid.uuid4().hex[:6]}"
            stream = by_stream[case.stream]
            async with redis.pipeline(transaction=False) as pipe:
                pipe.xadd(stream, case.fields)  # type: ignore[arg-type]
                pipe.xadd(stream, probe_fields(case.stream, probe_id))  # type: ignore[arg-type]
                bad_id, _ = await pipe.execute()
            bad = bad_id.decode()
            start = time.monotonic()
            outcome = Outcome(case, "nothing")
            while time.monotonic() - start < CASE_TIMEOUT_S:
                elapsed = time.monotonic() - start
                if outcome.probe_wait_s is None and store.article(probe_id) is not None:
                    outcome.probe_wait_s = elapsed
                if outcome.got == "nothing":
                    letters: Any = await redis.xrange(streams.dlq)
                    for _, fields in letters:
                        letter = decode_entry(fields, DeadLetter, max_bytes=10**8)
                        if letter.source_id == bad and letter.source_stream == stream:
                            outcome.letter_bytes = sum(len(v) for v in fields.values())
                            outcome.letter_truncated = letter.truncated
                            outcome.got, outcome.reason = "dlq", letter.reason
                            outcome.error = letter.error[:200]
                            outcome.outcome_s = time.monotonic() - start
                    if case.expect == "stored" and store.article(case.article_id) is not None:
                        outcome.got, outcome.outcome_s = "stored", time.monotonic() - start
                        stored = store.article(case.article_id)
                        text = store.article_text(case.article_id) or ""
                        assert stored is not None
                        outcome.stored_ok = case.check is None or case.check(stored, text)
                if outcome.got != "nothing" and outcome.probe_wait_s is not None:
                    break
                await asyncio.sleep(0.02)
            outcomes[case.name] = outcome
        info = {
            "pending": await _pending(redis, by_stream),
            "dlq_len": await redis.xlen(streams.dlq),
        }
    finally:
        await redis.aclose()
    return outcomes, services, info


async def _warm_up(redis: Redis, store: SqliteStore, raw_stream: str) -> None:
    """One article through the whole pipeline first, so start-up time is not a case's wait."""
    await redis.xadd(raw_stream, probe_fields("raw", "warm-up"))  # type: ignore[arg-type]
    deadline = time.monotonic() + 120
    while store.article("warm-up") is None:
        if time.monotonic() > deadline:
            raise AssertionError("the pipeline never stored the warm-up article")
        await asyncio.sleep(0.1)


async def _pending(redis: Redis, by_stream: dict[str, str]) -> dict[str, int]:
    groups = {"raw": "ingest", "normalized": "dedupe", "annotated": "store"}
    out: dict[str, int] = {}
    for key, stream in by_stream.items():
        for info in await redis.xinfo_groups(stream):
            if info["name"].decode() == groups[key]:
                out[key] = int(info["pending"])
    return out

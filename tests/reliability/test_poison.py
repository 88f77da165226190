"""Poison: entries that can never be stored are dead-lettered at once, the rest flows.

The poison here is an annotated article whose ``word_count`` is 2**63: valid JSON, but past
SQLite's signed 64-bit INTEGER. It used to pass validation and make every attempt to store it
raise ``OverflowError`` until ``max-attempts``; the v1 models now bound counts
(wiredesk.limits), so it must reach ``articles:dlq`` on its first delivery with reason
``schema-violation`` and its payload untouched, while the good articles around it are stored.
(Handler failures that pass validation are classified by wiredesk.errors: permanent ones are
dead-lettered at once as ``unprocessable``, transient ones retried up to ``max-attempts``.)
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from redis.asyncio import Redis

from tests.e2e.helpers import service_logs
from tests.reliability.corpus import corpus
from tests.reliability.harness import entries, expected_outcome, group_state, store_rows
from wiredesk.app.launcher import ServiceProcesses
from wiredesk.messages import AnnotatedArticle, DeadLetter, MalformedMessage, Method, decode_entry
from wiredesk.settings import WiredeskSettings

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

MAX_ATTEMPTS = 2


def poison(n: int) -> bytes:
    article = AnnotatedArticle(
        id=f"poison-{n}",
        source="poison",
        url=f"poison://{n}",
        received_at=datetime(2024, 1, 1, tzinfo=UTC),
        title="Poison",
        lang="en",
        text="valid text, impossible number",
        text_sha256="0" * 64,
        word_count=1,
        story_id=f"poison-{n}",
        method=Method.NEW,
        score=1.0,
        canonical_id=f"poison-{n}",
    )
    document = article.model_dump(mode="json", by_alias=True)
    document["word_count"] = 2**63
    data = orjson.dumps(document)
    with pytest.raises(MalformedMessage, match="word_count"):
        decode_entry({b"data": data}, AnnotatedArticle, max_bytes=10**6)
    return data


async def test_an_unstorable_entry_is_dead_lettered_at_once_and_the_rest_flows(
    aredis: Redis,
    settings: WiredeskSettings,
    reliability_env: dict[str, str],
    db_path: Path,
    tmp_path: Path,
) -> None:
    good = corpus(2000)[:60]
    expected = expected_outcome(good)
    env = {
        **reliability_env,
        "WIREDESK_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
        "WIREDESK_CLAIM_IDLE_MS": "500",
        "WIREDESK_CLAIM_INTERVAL_S": "0.2",
    }
    streams = settings.streams
    log_dir = tmp_path / "logs"
    poisons = [poison(n) for n in range(3)]
    with ServiceProcesses(env, log_dir=log_dir) as services:
        for n, raw in enumerate(good):
            if n % 20 == 10:
                await aredis.xadd(
                    streams.annotated,
                    {b"schema": b"annotated.v1", b"data": poisons[n // 20]},
                )
            await aredis.xadd(streams.raw, {b"schema": b"raw.v1", b"data": raw.to_json()})

        async def done() -> bool:
            stored = {i for i, _ in store_rows(db_path)}
            pending, delivered = await group_state(aredis, streams.annotated, "store")
            return (
                stored == expected.article_ids
                and await aredis.xlen(streams.dlq) == len(poisons)
                and pending == 0
                and delivered
            )

        for _ in range(400):
            if await done():
                break
            assert all(services.live(s) for s in services.services), service_logs(log_dir)
            await asyncio.sleep(0.2)
        else:
            raise AssertionError(f"not settled: {service_logs(log_dir)}")
    letters = [
        decode_entry(f, DeadLetter, max_bytes=10**7) for _, f in await entries(aredis, streams.dlq)
    ]
    print(f"\nPOISON stored={len(store_rows(db_path))} dead_letters={len(letters)}")
    assert sorted(letter.original_bytes() for letter in letters) == sorted(poisons)
    for letter in letters:
        assert letter.stage == "store"
        assert letter.reason == "schema-violation"
        assert "word_count" in letter.error
        assert letter.attempts == 1
        assert letter.source_stream == streams.annotated
    assert not {i for i, _ in store_rows(db_path)} & {f"poison-{n}" for n in range(3)}

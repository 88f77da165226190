"""Duplicate delivery: one raw article published many times at once is stored once.

The copies are distinct stream entries with the same article id, added concurrently from many
connections, so several may sit in one ingest batch or be handled by concurrent commits; ingest's
once-key (set in the same atomic step as the output) must let exactly one through.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from redis.asyncio import Redis

from tests.e2e.helpers import service_logs
from tests.reliability.corpus import corpus
from tests.reliability.harness import group_state, store_rows
from wiredesk.app.launcher import ServiceProcesses
from wiredesk.messages import encode_entry
from wiredesk.settings import WiredeskSettings

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

COPIES = 200
CLIENTS = 4  # redis-py caps a pool's connections; several clients, as several producers


async def test_the_same_article_published_concurrently_is_stored_once(
    aredis: Redis,
    redis_url: str,
    settings: WiredeskSettings,
    reliability_env: dict[str, str],
    db_path: Path,
    tmp_path: Path,
) -> None:
    article = corpus(2000)[0]
    fields = encode_entry(article)
    streams = settings.streams
    log_dir = tmp_path / "logs"
    clients = [Redis.from_url(redis_url) for _ in range(CLIENTS)]
    with ServiceProcesses(reliability_env, replicas={"ingest": 2}, log_dir=log_dir) as services:
        await asyncio.gather(
            *(
                clients[n % CLIENTS].xadd(streams.raw, fields)  # type: ignore[arg-type]
                for n in range(COPIES)
            )
        )
        assert await aredis.xlen(streams.raw) == COPIES

        async def done() -> bool:
            raw_pending, raw_delivered = await group_state(aredis, streams.raw, "ingest")
            store_pending, store_delivered = await group_state(aredis, streams.annotated, "store")
            return (
                len(store_rows(db_path)) >= 1
                and raw_delivered
                and store_delivered
                and raw_pending == store_pending == 0
            )

        for _ in range(300):
            if await done():
                break
            assert all(services.live(s) for s in services.services), service_logs(log_dir)
            await asyncio.sleep(0.2)
        else:
            raise AssertionError(f"not settled: {service_logs(log_dir)}")
        await asyncio.sleep(1.0)  # a second output, if any, would have arrived by now
    for client in clients:
        await client.aclose()
    rows = store_rows(db_path)
    print(
        f"\nDUPLICATES published={COPIES} normalized={await aredis.xlen(streams.normalized)} "
        f"annotated={await aredis.xlen(streams.annotated)} stored={len(rows)}"
    )
    assert rows == [(article.id, article.id)]
    assert await aredis.xlen(streams.normalized) == 1
    assert await aredis.xlen(streams.annotated) == 1
    assert await aredis.xlen(streams.unique) == 1
    assert await aredis.xlen(streams.dlq) == 0

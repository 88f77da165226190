"""The physical limit in the same run: a raw redis-py pass-through over the same three hops.

Why: a throughput number means little without the ceiling it sits under. The ceiling here is what
Redis Streams plus Python can move on *this* machine *now*: the same raw messages, published the
same way (``wiredesk.replay.publish``), forwarded by three processes (one per hop, like ingest,
dedupe and store) that do nothing but the stream work wiredesk also has to do: ``XREADGROUP`` a
batch, then one pipelined round trip of ``XADD`` to the next stream and ``XACK`` of the batch.
No decoding, validation, normalization, hashing or SQL: whatever wiredesk adds on top is the
price of its work, and ``wiredesk / limit`` is the share of the ceiling it reaches.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis
from redis.asyncio import Redis

from tools.bench.stats import entry_ms, span_rate
from wiredesk.messages import RawArticle
from wiredesk.replay import publish

HOPS = ("raw", "normalized", "annotated", "stored")
GROUP = "limit"


@dataclass(frozen=True, slots=True)
class LimitResult:
    articles: int
    hops: int
    seconds: float
    articles_per_s: float
    per_hop_per_s: dict[str, float]

    def as_dict(self) -> dict[str, Any]:
        return {
            "articles": self.articles,
            "hops": self.hops,
            "seconds": round(self.seconds, 3),
            "articles_per_s": round(self.articles_per_s, 1),
            "per_stream_entries_per_s": {k: round(v, 1) for k, v in self.per_hop_per_s.items()},
            "how": "XREADGROUP batch -> pipelined XADD next + XACK, one process per hop",
        }


def _forward(url: str, *, source: str, target: str, total: int, batch: int, ready: Any) -> None:
    """One hop: forward ``total`` entries unchanged from ``source`` to ``target``, then exit."""
    client = redis.Redis.from_url(url)
    try:
        try:
            client.xgroup_create(source, GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        ready.set()
        moved = 0
        while moved < total:
            reply: Any = client.xreadgroup(GROUP, "hop", {source: ">"}, count=batch, block=200)
            if not reply:
                continue
            entries = reply[0][1]
            pipe = client.pipeline(transaction=False)
            for _entry_id, fields in entries:
                pipe.xadd(target, fields)
            pipe.xack(source, GROUP, *(entry_id for entry_id, _ in entries))
            pipe.execute()
            moved += len(entries)
    finally:
        client.close()


def run_limit(
    url: str,
    articles: Sequence[RawArticle],
    *,
    namespace: str,
    batch: int = 200,
    timeout: float = 300.0,
) -> LimitResult:
    """Publish ``articles`` at full speed through three pass-through hops; time end to end.

    End to end is from the first raw entry's id to the last entry id of the final stream: both
    are Redis' own clock, so no process's clock or polling interval enters the number.
    """
    streams = [f"{namespace}limit:{name}" for name in HOPS]
    total = len(articles)
    ctx = mp.get_context("spawn")
    readies = [ctx.Event() for _ in range(len(streams) - 1)]
    procs = [
        ctx.Process(
            target=_forward,
            args=(url,),
            kwargs={
                "source": streams[i],
                "target": streams[i + 1],
                "total": total,
                "batch": batch,
                "ready": readies[i],
            },
            daemon=True,
        )
        for i in range(len(streams) - 1)
    ]
    for proc in procs:
        proc.start()
    client = redis.Redis.from_url(url)
    try:
        for ready in readies:
            if not ready.wait(timeout=60):
                raise RuntimeError("a pass-through hop did not start")

        async def send() -> None:
            aclient = Redis.from_url(url)
            try:
                await publish(aclient, streams[0], articles, batch=batch)
            finally:
                await aclient.aclose()

        asyncio.run(send())
        deadline = time.monotonic() + timeout
        while int(client.xlen(streams[-1])) < total:
            if time.monotonic() > deadline:
                raise RuntimeError("the pass-through did not finish in time")
            if any(p.exitcode not in (None, 0) for p in procs):
                raise RuntimeError("a pass-through hop failed")
            time.sleep(0.02)
        per_hop: dict[str, float] = {}
        bounds: dict[str, tuple[int, int]] = {}
        for name, stream in zip(HOPS, streams, strict=True):
            first: Any = client.xrange(stream, count=1)
            last: Any = client.xrevrange(stream, count=1)
            bounds[name] = (entry_ms(first[0][0]), entry_ms(last[0][0]))
            per_hop[name] = span_rate(total, *bounds[name])
        seconds = max(bounds["stored"][1] - bounds["raw"][0], 1) / 1000.0
        for proc in procs:
            proc.join(timeout=10)
        for stream in streams:
            client.delete(stream)
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5)
        client.close()
    return LimitResult(
        articles=total,
        hops=len(streams) - 1,
        seconds=seconds,
        articles_per_s=total / seconds,
        per_hop_per_s=per_hop,
    )

"""Per-feed state in Redis, so a restarted poller re-publishes nothing.

Two keys per feed (``<prefix>:poller:<sha1(url)>:...``):

- ``http`` (hash): ``etag``, ``last_modified`` for the next conditional GET, ``failures`` and
  ``next_at`` (epoch seconds) for the backoff;
- ``seen`` (hash): entry guid -> ``<version>|<sha256 of headline and body>``.

An entry is published by one Lua script that checks ``seen`` still holds what the poller read,
XADDs the entry and records it, all at once: a crash leaves it either published and recorded,
or neither, so it is never published twice. A changed entry (same guid, new content) is
published again as the next version.

On a Redis Cluster the feed's ``seen`` hash and the partition's raw stream hash to different
slots, and no script may touch both. There the publish is two steps, in this order: XADD
(then WAIT for the replicas, when configured), then record in ``seen``. A crash between the two
publishes the entry again at the next poll with the same version, hence the same article id,
hence into the same partition, where ingest's once-key (``seen:raw``) drops the second copy:
the pipeline still sees each version once. Two replicas racing on one entry end the same way.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from redis.asyncio import Redis

from wiredesk.streaming import EMIT_LUA, entry_args, text_of

__all__ = ["FeedState", "HttpState"]

# KEYS: 1 seen hash, 2 stream. ARGV: guid, previous record, new record, then the entry
# (wiredesk.streaming.EMIT_LUA: n fields, pairs). Returns 1 published, -1 seen changed.
_PUBLISH = (
    EMIT_LUA
    + """
local current = redis.call('HGET', KEYS[1], ARGV[1])
if (current or '') ~= ARGV[2] then return -1 end
emit(KEYS[2], 4)
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
"""
)


@dataclass(frozen=True, slots=True)
class HttpState:
    etag: str | None = None
    last_modified: str | None = None
    failures: int = 0
    next_at: float = 0.0


class FeedState:
    """One feed's state; every method is one or two Redis round trips."""

    def __init__(
        self,
        redis: Redis,
        prefix: str,
        url: str,
        *,
        atomic: bool = True,
        confirm: Callable[[Iterable[str]], Awaitable[bool]] | None = None,
    ) -> None:
        """``atomic=False``: the two-step publish of a cluster (see the module's docstring);
        ``confirm``: WAIT for replicas after each XADD (``Topology.confirm``)."""
        digest = hashlib.sha1(url.encode("utf-8"), usedforsecurity=False).hexdigest()
        self.redis = redis
        self.atomic = atomic
        self._confirm = confirm
        self.http_key = f"{prefix}:poller:{digest}:http"
        self.seen_key = f"{prefix}:poller:{digest}:seen"
        self._publish = redis.register_script(_PUBLISH)

    async def http(self) -> HttpState:
        raw = await self.redis.hgetall(self.http_key)
        values = {text_of(k): text_of(v) for k, v in raw.items()}
        return HttpState(
            etag=values.get("etag") or None,
            last_modified=values.get("last_modified") or None,
            failures=int(values.get("failures", 0)),
            next_at=float(values.get("next_at", 0.0)),
        )

    async def succeeded(self, etag: str | None, last_modified: str | None, next_at: float) -> None:
        mapping: dict[
            bytes | bytearray | memoryview[int] | str | int | float,
            bytes | bytearray | memoryview[int] | str | int | float,
        ] = {
            "etag": etag or "",
            "last_modified": last_modified or "",
            "failures": 0,
            "next_at": next_at,
        }
        await self.redis.hset(self.http_key, mapping=mapping)

    async def unchanged(self, next_at: float) -> None:
        await self.redis.hset(self.http_key, mapping={"failures": 0, "next_at": next_at})

    async def failed(self, failures: int, next_at: float) -> None:
        await self.redis.hset(
            self.http_key,
            mapping={"failures": failures, "next_at": next_at},
        )

    async def seen(self, guid: str) -> tuple[int, str] | None:
        """(version, content hash) of the entry as last published, None if never."""
        value = await self.redis.hget(self.seen_key, guid)
        if value is None:
            return None
        version, _, digest = text_of(value).partition("|")
        return int(version), digest

    async def publish(
        self, stream: str, guid: str, *, previous: str, record: str, entry: dict[bytes, bytes]
    ) -> bool:
        """XADD + record, only if ``seen`` still holds ``previous`` (atomically on one node)."""
        if not self.atomic:
            current = await self.redis.hget(self.seen_key, guid)
            if (text_of(current) if current is not None else "") != previous:
                return False
            await self.redis.xadd(stream, entry)  # type: ignore[arg-type]
            if self._confirm is not None:
                await self._confirm([stream])
            await self.redis.hset(self.seen_key, guid, record)
            return True
        done = await self._publish(
            keys=[self.seen_key, stream],
            args=[guid, previous, record, *entry_args(entry)],
        )
        published = int(done) == 1
        if published and self._confirm is not None:
            await self._confirm([stream])
        return published


def now() -> float:
    return time.time()

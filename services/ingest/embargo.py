"""Embargoes: an item whose ``embargoed`` time is still ahead is held in Redis, not passed on.

A provider's embargo ("not to be published before") is an obligation of every customer, so
dedupe, the store and every consumer downstream must not see the item early. Ingest therefore
keeps it out of ``articles:normalized`` until its time, and keeps it **in Redis**, so a restart
of every ingest replica loses nothing and releases nothing early:

- ``Keys.embargo(p)``: a sorted set of held entries, scored by release time (ms since the epoch);
  the member is the input entry's id, zero-padded, so items due at the same moment are released
  in the order they arrived;
- ``Keys.embargo_items(p)``: a hash with each held entry's normalized payload (``d:<member>``)
  and its schema label (``s:<member>``): :data:`HELD_LAYOUT`, the one place that maps an
  entry's fields to the hash; the scripts get the pairs from Python and spell no field name.
  This storage is the one every version so far wrote, on purpose: during a rolling upgrade an
  old replica's release drops a member whose ``d:`` it cannot find, so a new storage form would
  lose the items an old replica released.

Two scripts, each atomic, both in the partition's hash slot (the keys carry the partition's tag):

- :data:`HOLD_SCRIPT` acknowledges the input entry and, only if that acknowledgement took,
  checks the replay guard (the same once-key as the normal commit) and stores the item: a crash
  leaves the entry pending (redelivered, held then) or held and acked, never both or neither;
- :data:`RELEASE_SCRIPT` takes the items due by the **server's** clock (``TIME``: one clock for
  every replica, so no replica with a fast clock releases early), adds each to the normalized
  stream and removes it from the hold. Two replicas running it at once are serialized by Redis:
  the second finds nothing due, so an item is released exactly once.

The release loop runs as a task the stage starts in ``setup()`` and cancels in ``close()``; a
failing pass (Redis down) is logged and retried with capped backoff, and cancellation ends it
at once, so a stage with held items stops promptly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from prometheus_client import Gauge
from redis.asyncio import Redis

from wiredesk.cluster import make_script
from wiredesk.messages import DATA_FIELD, SCHEMA_FIELD
from wiredesk.streaming import id_parts, text_of

log = logging.getLogger(__name__)

EMBARGO_HELD = Gauge(
    "wiredesk_embargo_held",
    "Items ingest holds for an embargo (in the partitions this replica consumes)",
)
EMBARGO_OVERDUE = Gauge(
    "wiredesk_embargo_overdue_seconds",
    "How far past its release time the most overdue held item is, 0 when none is due",
)

HELD_LAYOUT: tuple[tuple[bytes, bytes], ...] = ((SCHEMA_FIELD, b"s:"), (DATA_FIELD, b"d:"))
"""(entry field, hash field prefix) of a held entry, in the entry's field order: a held
entry's ``schema`` is stored at ``s:<member>`` and its ``data`` at ``d:<member>``."""

# KEYS[1] input stream, KEYS[2] once-key or KEYS[1] for none, KEYS[3] hold (zset),
# KEYS[4] held payloads (hash). ARGV: group, entry id, once ttl ms, member, release ms, then the
# hash field/value pairs of the held entry (held_fields). Returns 3 held, 0 already acked
# (nothing stored), 2 replay (acked only).
HOLD_SCRIPT = """
local acked = redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
if acked == 0 then return 0 end
if KEYS[2] ~= KEYS[1] then
  if not redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[3]) then return 2 end
end
redis.call('HSET', KEYS[4], unpack(ARGV, 6))
redis.call('ZADD', KEYS[3], ARGV[5], ARGV[4])
return 3
"""

HOLD_HELD = 3

# KEYS[1] hold (zset), KEYS[2] held payloads (hash), KEYS[3] output stream. ARGV[1] most items,
# then HELD_LAYOUT as (hash field prefix, entry field) pairs. A member is released when any of
# its fields is stored (a missing one is ''). Returns {released, still held, next release ms or
# '', server now ms}.
RELEASE_SCRIPT = """
local t = redis.call('TIME')
local now = string.format('%d', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
local released = 0
for _, m in ipairs(due) do
  local args = {KEYS[3], '*'}
  local stored = {}
  local found = false
  for j = 2, #ARGV, 2 do
    local value = redis.call('HGET', KEYS[2], ARGV[j] .. m)
    if value then found = true end
    stored[#stored + 1] = ARGV[j] .. m
    args[#args + 1] = ARGV[j + 1]
    args[#args + 1] = value or ''
  end
  if found then
    redis.call('XADD', unpack(args))
    released = released + 1
  end
  redis.call('ZREM', KEYS[1], m)
  redis.call('HDEL', KEYS[2], unpack(stored))
end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {released, redis.call('ZCARD', KEYS[1]), first[2] or '', now}
"""

_RELEASE_LAYOUT = [part for name, prefix in HELD_LAYOUT for part in (prefix, name)]


def held_fields(member: str, fields: dict[bytes, bytes]) -> list[bytes]:
    """The hash field/value pairs that store a held entry (:data:`HELD_LAYOUT`). An entry with
    other fields than the layout's would not come out at release as it went in, so it is
    refused here, before anything is acked."""
    if set(fields) != {name for name, _ in HELD_LAYOUT}:
        raise ValueError(f"a held entry has the fields of HELD_LAYOUT, not {sorted(fields)!r}")
    key = member.encode()
    return [part for name, prefix in HELD_LAYOUT for part in (prefix + key, fields[name])]


MAX_BACKOFF_S = 30.0
STOP_TIMEOUT_S = 5.0


def release_ms(embargoed: datetime) -> int:
    """The release time in ms since the epoch (a naive time is UTC, as on the wire)."""
    aware = embargoed if embargoed.tzinfo is not None else embargoed.replace(tzinfo=UTC)
    return int(aware.timestamp() * 1000)


def is_embargoed(embargoed: datetime | None, *, now: datetime | None = None) -> bool:
    """Whether an item with this ``embargoed`` must be held (its time is still ahead)."""
    if embargoed is None:
        return False
    current = now or datetime.now(UTC)
    return release_ms(embargoed) > int(current.timestamp() * 1000)


def member_of(entry_id: str) -> str:
    """The hold's member for an input entry: its id zero-padded, so that ties on the release
    time sort by arrival (a sorted set orders equal scores by member, bytewise)."""
    ms, seq = id_parts(entry_id)
    return f"{ms:020d}-{seq:020d}"


@dataclass(frozen=True, slots=True)
class Held:
    """One input entry to hold instead of emitting: what :data:`HOLD_SCRIPT` needs."""

    entry_id: str
    release_ms: int
    fields: dict[bytes, bytes]  # the normalized entry (schema, data) to add at release
    once_key: str | None = None
    once_ttl_ms: int = 0


@dataclass(frozen=True, slots=True)
class ReleasePass:
    """What one release pass did and what is left (times by the Redis server's clock)."""

    released: int
    held: int
    next_release_ms: int | None
    now_ms: int

    @property
    def overdue_s(self) -> float:
        """How late the most overdue still-held item is (0 when none is due)."""
        if self.next_release_ms is None:
            return 0.0
        return max(0.0, (self.now_ms - self.next_release_ms) / 1000)


@dataclass(frozen=True, slots=True)
class HoldNames:
    """The keys of one partition's hold and where it releases to."""

    input_stream: str
    group: str
    hold: str
    items: str
    output: str


_REPORTS: dict[str, tuple[int, float]] = {}
"""hold key -> (held, overdue s) of each hold this process releases: the gauges are their sum
and max (one process runs one release loop per partition it consumes)."""


def _report(hold: str, value: tuple[int, float] | None) -> None:
    if value is None:
        _REPORTS.pop(hold, None)
    else:
        _REPORTS[hold] = value
    EMBARGO_HELD.set(sum(held for held, _ in _REPORTS.values()))
    EMBARGO_OVERDUE.set(max((overdue for _, overdue in _REPORTS.values()), default=0.0))


class EmbargoHold:
    """Holds and releases the embargoed items of one partition."""

    def __init__(self, redis: Redis, names: HoldNames, *, wait: Any = None) -> None:
        self._redis = redis
        self.names = names
        self._hold = make_script(redis, HOLD_SCRIPT)
        self._release = make_script(redis, RELEASE_SCRIPT)
        self.wait = wait  # WIREDESK_WAIT_REPLICAS: every key here shares the input's slot

    async def hold(self, items: Sequence[Held]) -> list[int]:
        """Hold each item and ack its input, atomically per item, all in one round trip."""
        if not items:
            return []
        n = self.names
        async with self._redis.pipeline(transaction=False) as pipe:
            for item in items:
                await self._hold(
                    keys=[n.input_stream, item.once_key or n.input_stream, n.hold, n.items],
                    args=[
                        n.group,
                        item.entry_id,
                        item.once_ttl_ms,
                        member_of(item.entry_id),
                        item.release_ms,
                        *held_fields(member_of(item.entry_id), item.fields),
                    ],
                    client=pipe,
                )
            results = await pipe.execute()
        if self.wait is not None:
            await self.wait.confirm([n.input_stream])
        return [int(r) for r in results]

    async def release(self, limit: int) -> ReleasePass:
        """Release up to ``limit`` due items into the output stream (one atomic script)."""
        n = self.names
        reply: Any = await self._release(
            keys=[n.hold, n.items, n.output], args=[limit, *_RELEASE_LAYOUT]
        )
        released, held, first, now = reply
        first_text = text_of(first)
        now_text = text_of(now)
        if released and self.wait is not None:
            await self.wait.confirm([n.output])
        return ReleasePass(
            released=int(released),
            held=int(held),
            next_release_ms=int(float(first_text)) if first_text else None,
            now_ms=int(now_text),
        )

    async def peek(self) -> ReleasePass:
        """How many are held and when the next is due, without releasing (client's clock):
        what the gauges show while releasing fails."""
        n = self.names
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zcard(n.hold)
            pipe.zrange(n.hold, 0, 0, withscores=True)
            held, first = await pipe.execute()
        return ReleasePass(
            released=0,
            held=int(held),
            next_release_ms=int(first[0][1]) if first else None,
            now_ms=int(time.time() * 1000),
        )


class ReleaseLoop:
    """The background task that releases a hold's items when they fall due.

    It sleeps until the next release time or ``poll_s``, whichever is sooner (another replica
    may hold a nearer item this one has not seen), so an item goes out within ``poll_s`` of its
    time at worst. Errors back off exponentially up to :data:`MAX_BACKOFF_S` and are logged;
    :meth:`stop` signals and cancels the task wherever it is (a pause, a command retrying a dead
    Redis) and waits at most :data:`STOP_TIMEOUT_S` for it.
    """

    def __init__(
        self,
        hold: EmbargoHold,
        *,
        stage: str,
        poll_s: float,
        batch: int,
        on_release: Any = None,
    ) -> None:
        self.hold = hold
        self.stage = stage
        self.poll_s = poll_s
        self.batch = batch
        self._on_release = on_release
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def start(self) -> None:
        if self._task is None:
            self._stopping = asyncio.Event()
            self._task = asyncio.create_task(self._run(), name=f"embargo-release:{self.stage}")

    async def stop(self) -> None:
        """End the loop now: signal it and cancel it, then wait (bounded) until it has ended.

        Both, because a cancellation can be swallowed: one that lands while a redis-py command
        is in flight may surface as that command's result or error instead (seen in tests), so
        the loop also checks the event and its own pending cancellation before every pause.
        """
        task, self._task = self._task, None
        self._stopping.set()
        if task is not None:
            task.cancel()
            done, _ = await asyncio.wait([task], timeout=STOP_TIMEOUT_S)
            if not done:
                log.warning("embargo release loop did not stop", extra={"stage": self.stage})
            for finished in done:
                if not finished.cancelled() and finished.exception() is not None:
                    log.warning(
                        "embargo release loop failed",
                        extra={"stage": self.stage, "error": repr(finished.exception())},
                    )
        _report(self.hold.names.hold, None)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def _pause(self, seconds: float) -> None:
        """Sleep, unless the loop is being stopped (then return or raise at once)."""
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise asyncio.CancelledError  # a cancellation a command swallowed
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    async def _run(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                result = await self.hold.release(self.batch)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                delay = min(MAX_BACKOFF_S, self.poll_s * 2 ** min(failures, 16))
                log.warning(
                    "embargo release pass failed",
                    extra={"stage": self.stage, "retry_in_s": round(delay, 2), "error": repr(exc)},
                )
                with contextlib.suppress(Exception):  # Redis up, releasing broken: show it
                    peeked = await self.hold.peek()
                    _report(self.hold.names.hold, (peeked.held, peeked.overdue_s))
                await self._pause(delay)
                continue
            failures = 0
            _report(self.hold.names.hold, (result.held, result.overdue_s))
            if result.released:
                log.info(
                    "released embargoed items",
                    extra={
                        "stage": self.stage,
                        "released": result.released,
                        "held": result.held,
                        "stream": self.hold.names.output,
                    },
                )
                if self._on_release is not None:
                    self._on_release(result.released)
            await self._pause(self._delay(result))

    def _delay(self, result: ReleasePass) -> float:
        if result.released >= self.batch:
            return 0.0  # more may be due right now
        if result.next_release_ms is None:
            return self.poll_s
        until = (result.next_release_ms - result.now_ms) / 1000
        return min(self.poll_s, max(0.01, until))

"""Redis Streams primitives every stage shares: atomic commit, dead letters, groups, reclaim.

The delivery promise rests on one Lua script, :data:`COMMIT_SCRIPT`: it acknowledges the input
entry and, only if that acknowledgement took (the entry was still pending for this group), adds
the outputs. Because a script runs atomically, a crash leaves either nothing done or everything
done, and a redelivered entry (a reclaimed one that a slow consumer also finished) produces no
second output: its ``XACK`` returns 0 and the script stops there.

This module also owns how every Redis-to-Redis script adds an entry. Python encodes each output
entry's fields (:func:`wiredesk.messages.encode_entry` / :func:`~wiredesk.messages.encode_payload`,
plus ``traceparent``: :func:`traced`) and hands them over as ``n, f1, v1, ...``
(:func:`entry_args`); the scripts compose :data:`EMIT_LUA` and ``XADD`` those lists as they are.
No script spells ``schema`` or ``data``, so the layout consumers parse is written once, here and
in ``messages``. :meth:`StreamCommitter.ack` is the other way out of a stage: the acknowledgement
of a stage whose effects are committed outside Redis (the store's database).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from wiredesk.cluster import make_script, wait_for
from wiredesk.deadletter import DEAD_LETTER_SCRIPT, DeadLetterPolicy
from wiredesk.messages import (
    DeadLetter,
    MalformedMessage,
    WireModel,
    decode_entry,
    encode_entry,
    entry_data,
)
from wiredesk.observability import DEAD_LETTERED
from wiredesk.tracing import TRACEPARENT, outgoing

log = logging.getLogger(__name__)

M = TypeVar("M", bound=WireModel)

RedisClient = Redis


def text_of(value: Any) -> str:
    """A Redis reply value as text: redis-py hands back ``bytes`` unless the client decodes
    responses, and ids, names and counters reach the same code from both kinds of client."""
    return value.decode() if isinstance(value, bytes) else str(value)


def id_parts(entry_id: str) -> tuple[int, int]:
    """``(milliseconds, sequence)`` of a stream entry id ``<ms>-<seq>``.

    Stream ids compare as this pair of numbers, not as text; several places (sorting, padding,
    age, the time an entry was added) need the numbers, so the parse lives here once. A bare
    ``<ms>`` (as ``XADD`` accepts and some callers hand over) has sequence 0. Anything else is
    a :class:`ValueError` that names the id, rather than an ``int()`` complaint about a fragment.
    """
    ms, sep, seq = entry_id.partition("-")
    if not (ms.isdigit() and ms.isascii()) or (sep and not (seq.isdigit() and seq.isascii())):
        raise ValueError(f"not a stream entry id (<ms>-<seq>): {entry_id!r}")
    return int(ms), int(seq or 0)


def id_ms(entry_id: str) -> int:
    """The milliseconds part of a stream entry id: when Redis added the entry (:func:`id_parts`)."""
    return id_parts(entry_id)[0]


@dataclass(frozen=True, slots=True)
class Entry:
    """One stream entry as read: its id, its raw fields, and how often it was delivered."""

    id: str
    fields: dict[bytes, bytes]
    deliveries: int = 1


@dataclass(frozen=True, slots=True)
class Emit:
    """One output entry to add to a stream."""

    stream: str
    fields: dict[bytes, bytes]


@dataclass(slots=True)
class Commit:
    """Everything one input entry produces, applied in one atomic step.

    ``once_key``: if set, the outputs are added only when this key did not exist yet (it is then
    created with ``once_ttl_ms``); this is how a stage drops a second copy of an input it has
    already handled (the same raw article published twice).
    """

    entry_id: str
    emits: list[Emit] = field(default_factory=list)
    once_key: str | None = None
    once_ttl_ms: int = 0


EMIT_LUA = """
local function entry_end(pos)
  return pos + 1 + 2 * tonumber(ARGV[pos])
end
local function emit(stream, pos)
  local stop = entry_end(pos)
  if stop == pos + 1 then return stop, nil end
  local args = {stream, '*'}
  for j = pos + 1, stop - 1 do args[#args + 1] = ARGV[j] end
  return stop, redis.call('XADD', unpack(args))
end
"""
"""The Lua half of :func:`entry_args`, composed into every script that adds entries: an entry is
``ARGV[pos]`` = n, then n field/value pairs. ``entry_end(pos)`` is the position after it;
``emit(stream, pos)`` adds it to ``stream`` and returns (position after it, the new entry's id),
or (position after it, nil) for an entry of no fields (nothing to add)."""


def entry_args(fields: Mapping[bytes, bytes]) -> list[bytes | int]:
    """One entry as the scripts take it (:data:`EMIT_LUA`): its field count, then the pairs in
    order; no fields (``{}``) is an entry a script skips."""
    args: list[bytes | int] = [len(fields)]
    for name, value in fields.items():
        args.extend((name, value))
    return args


def traced(fields: Mapping[bytes, bytes], traceparent: bytes) -> dict[bytes, bytes]:
    """An output entry's fields with the input's ``traceparent`` last (:func:`outgoing`; empty:
    not traced, the field is left out)."""
    return {**fields, TRACEPARENT: traceparent} if traceparent else dict(fields)


# KEYS[1] input stream, KEYS[2] once-key or KEYS[1] again for none (not '': on a Redis Cluster
# every key must be in the input's slot), KEYS[3..] output streams (one per emit)
# ARGV: group, entry id, once ttl ms, then per emit its field list (EMIT_LUA)
# Outputs are never capped here (MAXLEN would drop entries a slow group has not read yet);
# retention is wiredesk.retention's job.
# Returns 1 done, 0 already acked (nothing added), 2 duplicate input (acked, no output).
COMMIT_SCRIPT = (
    EMIT_LUA
    + """
local acked = redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
if acked == 0 then return 0 end
if KEYS[2] ~= KEYS[1] then
  if not redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[3]) then return 2 end
end
local pos = 4
for k = 3, #KEYS do pos = emit(KEYS[k], pos) end
return 1
"""
)

COMMIT_DONE, COMMIT_ALREADY_ACKED, COMMIT_DUPLICATE = 1, 0, 2


class StreamCommitter:
    """Applies :class:`Commit` steps for one input stream and group, pipelined per batch."""

    def __init__(
        self,
        redis: RedisClient,
        *,
        input_stream: str,
        group: str,
        dlq: DeadLetterPolicy | None = None,
    ) -> None:
        self._redis = redis
        self._script = make_script(redis, COMMIT_SCRIPT)
        self._dlq_script = make_script(redis, DEAD_LETTER_SCRIPT)
        self.dlq = dlq or DeadLetterPolicy()
        self.input_stream = input_stream
        self.group = group
        self.wait = wait_for(redis)  # WIREDESK_WAIT_REPLICAS, when the service attached one

    def _args(self, commit: Commit) -> tuple[list[str], list[Any]]:
        keys = [self.input_stream, commit.once_key or self.input_stream]
        argv: list[Any] = [self.group, commit.entry_id, commit.once_ttl_ms]
        traceparent = outgoing(commit.entry_id)
        for emit in commit.emits:
            keys.append(emit.stream)
            argv.extend(entry_args(traced(emit.fields, traceparent)))
        return keys, argv

    async def apply(self, commits: Sequence[Commit]) -> list[int]:
        """Apply each commit atomically (one script call each), all in one round trip."""
        if not commits:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for commit in commits:
                keys, argv = self._args(commit)
                await self._script(keys=keys, args=argv, client=pipe)
            results = await pipe.execute()
        if self.wait is not None:  # every key of a commit shares the input stream's slot
            await self.wait.confirm([self.input_stream])
        return [int(r) for r in results]

    async def ack(self, entry_ids: Sequence[str]) -> int:
        """Acknowledge entries whose effects a stage committed outside Redis (the store's
        database transaction), then confirm with the replicas (``WIREDESK_WAIT_REPLICAS``).

        Always after that commit, never before: a crash in between redelivers the entries and
        the stage writes the same effects again. An ack lost in a failover only redelivers too,
        so a short confirmation is not an error here. Returns how many entries were still
        pending (``XACK``'s count)."""
        if not entry_ids:
            return 0
        acked = int(await self._redis.xack(self.input_stream, self.group, *entry_ids))
        if self.wait is not None:
            await self.wait.confirm([self.input_stream])
        return acked

    async def dead_letter(
        self,
        entry: Entry,
        *,
        dlq_stream: str,
        stage: str,
        reason: str,
        error: str,
    ) -> int:
        """Move an entry to the dead-letter stream and ack it, atomically."""
        letter = DeadLetter.wrap(
            entry_data(entry.fields),
            stage=stage,
            reason=reason,
            error=error,
            attempts=entry.deliveries,
            source_stream=self.input_stream,
            source_id=entry.id,
            max_payload_bytes=self.dlq.max_payload_bytes,
        )
        log.warning(
            "dead-lettered",
            extra={"stage": stage, "reason": reason, "entry_id": entry.id, "error": error[:300]},
        )
        argv: list[Any] = [self.group, entry.id, self.dlq.max_len, self.dlq.min_id()]
        for name, value in encode_entry(letter).items():
            argv.extend((name, value))
        # on a cluster the stage's dead-letter stream shares its input's hash tag (wiredesk/keys.py)
        result = int(await self._dlq_script(keys=[self.input_stream, dlq_stream], args=argv))
        if self.wait is not None:
            await self.wait.confirm([self.input_stream])
        if result == COMMIT_DONE:
            DEAD_LETTERED.labels(stage, reason).inc()
        return result

    async def decode_or_dead_letter(
        self,
        entries: Sequence[Entry],
        model: type[M],
        *,
        max_bytes: int,
        dlq_stream: str,
        stage: str,
    ) -> list[tuple[Entry, M]]:
        """The entries that are valid ``model`` messages; the malformed ones can never be
        processed, so they go to the dead-letter stream at once instead of being retried."""
        valid: list[tuple[Entry, M]] = []
        for entry in entries:
            try:
                valid.append((entry, decode_entry(entry.fields, model, max_bytes=max_bytes)))
            except MalformedMessage as exc:
                await self.dead_letter(
                    entry, dlq_stream=dlq_stream, stage=stage, reason=exc.reason, error=exc.error
                )
        return valid


async def ensure_group(redis: RedisClient, stream: str, group: str) -> None:
    """Create the group at the stream's start, creating the stream too.

    Starting at ``0`` rather than ``$`` means a group created after producers began still sees
    every entry: nothing published before the first consumer came up is lost.
    """
    try:
        await redis.xgroup_create(name=stream, groupname=group, id="0", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


async def read_new(
    redis: RedisClient, *, stream: str, group: str, consumer: str, count: int
) -> list[Entry]:
    """The next entries never delivered to the group (``>``), without blocking: for drivers
    that feed a stage in-process (evaluation, benchmark) until the stream is exhausted."""
    reply: Any = await redis.xreadgroup(group, consumer, {stream: ">"}, count=count)
    return [Entry(i, f) for i, f in parse_entries(reply[0][1])] if reply else []


def parse_entries(raw: Sequence[Any]) -> list[tuple[str, dict[bytes, bytes]]]:
    """Normalize (id, fields) pairs from any redis-py reply shape; deleted entries are dropped."""
    out: list[tuple[str, dict[bytes, bytes]]] = []
    for item in raw:
        entry_id, fields = item[0], item[1]
        if fields is None:  # trimmed/deleted while pending: XAUTOCLAIM reports it as nil
            continue
        out.append((text_of(entry_id), fields))
    return out


async def reclaim(
    redis: RedisClient,
    *,
    stream: str,
    group: str,
    consumer: str,
    min_idle_ms: int,
    count: int = 100,
) -> list[Entry]:
    """Claim entries left pending by other (presumably dead) consumers, with delivery counts.

    XAUTOCLAIM scans the whole pending list in pages; its reply shape differs between server
    versions (6.2 returns two elements, 7.0 three), so only the first two are used.

    An entry deleted from the stream while pending (trimmed by someone's ``MAXLEN``, or
    ``XDEL``) can never be processed. Redis 7 drops it from the pending list during XAUTOCLAIM;
    Redis 6.2 returns it as nil (redis-py turns that into ``(None, None)``, losing the id) and
    keeps it pending forever, so it would be claimed on every pass and the group would never
    drain. Such entries are found through XPENDING and acknowledged here, with a warning.
    """
    claimed: list[tuple[str, dict[bytes, bytes]]] = []
    deleted: list[str] = []
    start = "0-0"
    while True:
        reply = await redis.xautoclaim(
            stream, group, consumer, min_idle_time=min_idle_ms, start_id=start, count=count
        )
        next_start, messages = reply[0], reply[1]
        page = parse_entries(messages)
        claimed.extend(page)
        page_end = text_of(next_start)
        if len(page) < len(messages) and len(reply) < 3:
            deleted.extend(
                await _deleted_pending(
                    redis,
                    stream=stream,
                    group=group,
                    consumer=consumer,
                    lo=start,
                    hi="+" if page_end == "0-0" else page_end,
                    live={entry_id for entry_id, _ in page},
                )
            )
        start = page_end
        if start == "0-0" or len(claimed) >= count:
            break
    if deleted:
        await redis.xack(stream, group, *deleted)
        log.warning(
            "acknowledged pending entries that were deleted from the stream",
            extra={"stream": stream, "group": group, "count": len(deleted), "ids": deleted[:20]},
        )
    if not claimed:
        return []
    deliveries = await delivery_counts(redis, stream, group, [i for i, _ in claimed])
    return [Entry(i, f, deliveries.get(i, 1)) for i, f in claimed]


async def keep_claimed(
    redis: RedisClient,
    *,
    stream: str,
    group: str,
    consumer: str,
    ids: list[str],
    min_idle_ms: int,
) -> int:
    """Reset the idle time of pending entries a live consumer is still working on, so that no
    reclaim loop (another replica's, or this one's) takes a long batch away from it.

    ``XCLAIM ... JUSTID`` leaves the delivery count alone (a claim by ``XAUTOCLAIM`` adds one,
    and enough of them would dead-letter an entry whose only fault was a slow batch). Only
    entries idle at least ``min_idle_ms`` are touched: one another consumer claimed meanwhile
    had its idle time reset by that claim and stays theirs. Returns how many were touched."""
    if not ids:
        return 0
    touched = await redis.xclaim(stream, group, consumer, min_idle_ms, list[Any](ids), justid=True)
    return len(touched)


async def _deleted_pending(
    redis: RedisClient,
    *,
    stream: str,
    group: str,
    consumer: str,
    lo: str,
    hi: str,
    live: set[str],
) -> list[str]:
    """Ids pending for ``consumer`` in [lo, hi] that no longer exist in the stream."""
    rows = await redis.xpending_range(
        stream, group, min=lo, max=hi, count=10_000, consumername=consumer
    )
    gone: list[str] = []
    for row in rows:
        raw_id = row["message_id"]
        entry_id = text_of(raw_id)
        if entry_id not in live and not await redis.xrange(stream, entry_id, entry_id):
            gone.append(entry_id)
    return gone


async def delivery_counts(
    redis: RedisClient, stream: str, group: str, ids: Sequence[str]
) -> dict[str, int]:
    """times_delivered per pending entry, from XPENDING's extended form."""
    if not ids:
        return {}
    lo, hi = min(ids, key=_id_key), max(ids, key=_id_key)
    rows = await redis.xpending_range(stream, group, min=lo, max=hi, count=len(ids) * 2 + 100)
    wanted = set(ids)
    out: dict[str, int] = {}
    for row in rows:
        message_id = row["message_id"]
        key = text_of(message_id)
        if key in wanted:
            out[key] = int(row["times_delivered"])
    return out


def _id_key(entry_id: str) -> tuple[int, int]:
    return id_parts(entry_id)

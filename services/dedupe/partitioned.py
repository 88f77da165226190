"""Global dedupe over partitioned streams: a log-first commit, then per-partition outputs.

With partitions, an input entry (``articles:normalized:{wd:pN}``) and the story state
(``wd:dedupe:log:{articles:unique}``) live in different hash slots, so one script cannot do both
as the single-node commit does. The protocol (argued in docs/design.md, Partitions):

1. **log step** (one script, the dedupe slot): if the head is still what this replica applied,
   append the batch's log records, add the ``articles:unique`` entries, and put each decided
   annotated output in the partition's *outbox* hash (field = input entry id); entries already
   in the outbox are skipped. Atomic: the decision, the story's unique entry and the pending
   output are durable together or not at all.
2. **finish step** (one script, the partition slot): for each entry ``XACK``; only if that took,
   ``XADD`` its annotated output. Idempotent: a second run (a reclaimed copy, the sweeper)
   acks nothing and adds nothing.
3. **clean step**: ``HDEL`` the finished entries from the outbox.

The outbox holds each decided output as its annotated JSON, not as an encoded entry: that is
what every earlier version wrote and read, and during a rolling upgrade old and new replicas
finish each other's entries (an old one would publish a new-form value as the payload). Python
reads the outbox anyway (:meth:`PartitionedDedupe.decided`, :meth:`~PartitionedDedupe.sweep`)
and encodes the entry for step 2 (``encode_payload``); the scripts only ``XADD`` field lists.

A replica that picks up an entry checks the outbox first: an entry that is there was decided
already and only needs step 2. With ``WIREDESK_WAIT_REPLICAS``, step 2 runs only once step 1 is
confirmed by the replicas, and step 3 only once step 2 is.

Items' lifecycles (versions, kills, story events: ``lifecycle.py``) are not applied here: the
core stage is built without them, every version is a copy as before, and a warning says so
once at start (docs/design.md, "Lifecycles and the partitioned layout").
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from services.dedupe.stage import DedupeStage
from services.dedupe.state import Conflict, Item, encode_record
from wiredesk.cluster import ReplicationShort, make_script, wait_for
from wiredesk.keys import Keys
from wiredesk.messages import Article, encode_payload
from wiredesk.observability import PROCESSED
from wiredesk.streaming import (
    EMIT_LUA,
    Entry,
    StreamCommitter,
    ensure_group,
    entry_args,
    text_of,
)

log = logging.getLogger(__name__)

# KEYS: 1 log, 2 head, 3 unique stream, 4 outbox hash of the partition
# ARGV: 1 expected head, 2 item count, 3 trim min-id ('' = none), then per item: entry id, its
#       log record (an entry as wiredesk.streaming.EMIT_LUA takes it; 0 fields = none), the
#       annotated json for the outbox ('' = none), its unique entry (0 fields = none)
# Returns {1, new head} | {-1, head} on conflict (nothing written).
LOG_STEP = (
    EMIT_LUA
    + """
local head = redis.call('GET', KEYS[2]) or '0-0'
if head ~= ARGV[1] then return {-1, head} end
local n = tonumber(ARGV[2])
local pos = 4
local last = head
for i = 1, n do
  local eid = ARGV[pos]
  local annotated = entry_end(pos + 1)
  local after = entry_end(annotated + 1)
  if redis.call('HEXISTS', KEYS[4], eid) == 0 then
    local _, logged = emit(KEYS[1], pos + 1)
    last = logged or last
    if ARGV[annotated] ~= '' then redis.call('HSET', KEYS[4], eid, ARGV[annotated]) end
    emit(KEYS[3], annotated + 1)
  end
  pos = after
end
redis.call('SET', KEYS[2], last)
if ARGV[3] ~= '' then redis.call('XTRIM', KEYS[1], 'MINID', ARGV[3]) end
return {1, last}
"""
)

# KEYS: 1 input stream (normalized, partition p), 2 annotated stream (partition p)
# ARGV: 1 group, then per input entry: its id, its annotated entry (EMIT_LUA; 0 fields = ack only)
# Returns the number of entries this call acknowledged.
FINISH_STEP = (
    EMIT_LUA
    + """
local done = 0
local pos = 2
while pos <= #ARGV do
  if redis.call('XACK', KEYS[1], ARGV[1], ARGV[pos]) == 1 then
    done = done + 1
    pos = emit(KEYS[2], pos + 1)
  else
    pos = entry_end(pos + 1)
  end
end
return done
"""
)


class PartitionedDedupe:
    """One global :class:`DedupeStage` (index, log, model) shared by every partition's view."""

    def __init__(self, core: DedupeStage, keys: Keys) -> None:
        self.core = core
        self.keys = keys
        self.lock = asyncio.Lock()  # one decision at a time per process: decisions are global
        self._redis: Any = None
        self._log_step: Any = None
        self._finish_step: Any = None
        self._ready = False

    async def setup(self, redis: Redis) -> None:
        if self._ready:
            return
        self._redis = redis
        log.warning(
            "partitioned layout: items' lifecycles are off (every version of an item is a copy "
            "in its story, kills and withheld items are not applied, articles:stories gets no "
            "events); use the single-stream layout for them (docs/design.md)"
        )
        self._log_step = make_script(redis, LOG_STEP)
        self._finish_step = make_script(redis, FINISH_STEP)
        await self.core.setup(redis)
        self._ready = True

    async def close(self) -> None:
        if self._ready:
            await self.core.close()
            self._ready = False

    def views(self, partitions: Sequence[int]) -> list[DedupePartition]:
        return [DedupePartition(self, p) for p in partitions]

    # -- the protocol -------------------------------------------------------------------------

    async def commit_log(self, partition: int, items: Sequence[Item], trim_ms: int) -> str:
        """Step 1; raises :class:`Conflict` when another replica committed first."""
        state = self.core.state
        argv: list[Any] = [state.applied, len(items), str(trim_ms)]
        for item in items:
            argv.append(item.entry_id)
            argv.extend(entry_args(encode_record(item.record) if item.record is not None else {}))
            argv.append(item.annotated)
            argv.extend(entry_args(encode_payload(item.unique) if item.unique else {}))
        keys = [
            self.keys.dedupe_log,
            self.keys.dedupe_head,
            self.keys.unique,
            self.keys.dedupe_outbox(partition),
        ]
        reply = await self._log_step(keys=keys, args=argv)
        detail = text_of(reply[1])
        if int(reply[0]) == -1:
            raise Conflict(detail)
        await self._confirm(self.keys.unique, step="log")
        outputs = {i.entry_id: i.annotated for i in items}
        # An entry skipped above (decided by an earlier commit) keeps that earlier output.
        earlier = await self.decided(partition, [e for e, a in outputs.items() if not a])
        outputs.update(earlier)
        await self.finish(partition, list(outputs.items()))
        return detail

    async def finish(self, partition: int, outputs: Sequence[tuple[str, bytes]]) -> int:
        """Steps 2 and 3 for (entry id, annotated json or b'') pairs; returns entries acked."""
        if not outputs:
            return 0
        argv: list[Any] = [self.core.group]
        for entry_id, annotated in outputs:
            argv.append(entry_id)
            argv.extend(entry_args(encode_payload(annotated) if annotated else {}))
        keys = [self.keys.normalized(partition), self.keys.annotated(partition)]
        done = int(await self._finish_step(keys=keys, args=argv))
        await self._confirm(self.keys.normalized(partition), step="finish")
        await self._redis.hdel(self.keys.dedupe_outbox(partition), *(e for e, _ in outputs))
        return done

    async def _confirm(self, key: str, *, step: str) -> None:
        wait = wait_for(self._redis)
        if wait is not None and not await wait.confirm([key]):
            raise ReplicationShort(f"dedupe {step} step not confirmed by enough replicas")

    async def decided(self, partition: int, entry_ids: Sequence[str]) -> dict[str, bytes]:
        """The entries of ``entry_ids`` whose decision is in the outbox (step 1 done)."""
        if not entry_ids:
            return {}
        values = await self._redis.hmget(self.keys.dedupe_outbox(partition), list(entry_ids))
        return {e: v for e, v in zip(entry_ids, values, strict=True) if v is not None}

    async def sweep(self, partition: int) -> int:
        """Finish every decided entry of the partition (whoever holds it); returns acked."""
        outbox: dict[Any, Any] = await self._redis.hgetall(self.keys.dedupe_outbox(partition))
        pairs = [(text_of(k), v) for k, v in outbox.items()]
        return await self.finish(partition, pairs) if pairs else 0

    async def handle(self, view: DedupePartition, entries: list[Entry]) -> None:
        core = self.core
        async with self.lock:
            articles = await view.committer.decode_or_dead_letter(
                entries,
                Article,
                max_bytes=core.settings.max_message_bytes,
                dlq_stream=view.dlq_stream,
                stage=core.name,
            )
            if not articles:
                return
            decided = await self.decided(view.partition, [e.id for e, _ in articles])
            if decided:
                await self.finish(view.partition, list(decided.items()))
                articles = [(e, a) for e, a in articles if e.id not in decided]
                PROCESSED.labels(core.name, "finished").inc(len(decided))
            if not articles:
                return
            features = await asyncio.to_thread(core.featurizer.featurize, [a for _, a in articles])
            prepared = [(e, a, f) for (e, a), f in zip(articles, features, strict=True)]

            async def commit(items: Sequence[Item], trim_ms: int) -> object:
                return await self.commit_log(view.partition, items, trim_ms)

            await core._commit_with_retry(prepared, commit)


class DedupePartition:
    """The stage the runner sees for one partition: its input stream, dead letters and errors."""

    name = "dedupe"
    outcomes = ("annotated", "replay", "finished")

    def __init__(self, shared: PartitionedDedupe, partition: int) -> None:
        self.shared = shared
        self.partition = partition
        keys = shared.keys
        self.input_stream = keys.normalized(partition)
        self.dlq_stream = keys.dlq(partition)
        self.errors_key = keys.errors(self.name, partition)
        self.group = shared.core.group
        self._committer: StreamCommitter | None = None

    @property
    def committer(self) -> StreamCommitter:
        if self._committer is None:
            raise RuntimeError("DedupePartition.setup() was not awaited")
        return self._committer

    async def setup(self, redis: Redis) -> None:
        await ensure_group(redis, self.input_stream, self.group)
        await self.shared.setup(redis)
        self._committer = StreamCommitter(redis, input_stream=self.input_stream, group=self.group)
        try:  # what a dead replica decided but did not emit
            await self.shared.sweep(self.partition)
        except RedisError as exc:
            # A failover in progress (ReplicationShort, MOVED storms, a dead master) must not
            # end the process: those entries are still pending, so the reclaim loop hands them
            # to settle_reclaimed, which finishes them from the outbox all the same.
            log.warning(
                "start-up sweep of the outbox failed; the reclaim loop will finish its entries",
                extra={"partition": self.partition, "error": str(exc)},
            )

    async def handle(self, entries: list[Entry]) -> None:
        await self.shared.handle(self, entries)

    async def settle_reclaimed(self, entries: list[Entry]) -> list[Entry]:
        """Finish reclaimed entries that were decided already, before any is dead-lettered
        (a decided entry must get its annotated output, not a dead letter)."""
        decided = await self.shared.decided(self.partition, [e.id for e in entries])
        if decided:
            await self.shared.finish(self.partition, list(decided.items()))
        return [e for e in entries if e.id not in decided]

    async def close(self) -> None:
        await self.shared.close()

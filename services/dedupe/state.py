"""The dedupe window in Redis: an append-only log that every replica replays into its index.

Why a log and not only keyed buckets: replicas must give the same answer as one process. Each
replica decides a batch against its index at log position ``head`` and commits with one Lua
script that first checks the log is still at ``head`` (optimistic concurrency). If another
replica committed in between, nothing is written; the replica catches up on the new entries and
decides again. Commits are therefore serialized, every replica sees the same history, and two
copies of one story racing through two replicas end in one story. The same script appends the
records, adds the annotated and unique messages and acknowledges the input, so a crash leaves
either all of it or none of it.

The log is trimmed by entry id (``XTRIM MINID``): ids are millisecond timestamps, so that is the
dedupe window. A starting replica replays the log; nothing lives only in a process.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from redis.asyncio import Redis

from services.dedupe.features import Features, as_logged
from services.dedupe.index import Record, StoryIndex
from wiredesk.streaming import parse_entries
from wiredesk.tracing import outgoing

HEAD_NONE = "0-0"

# KEYS: 1 log, 2 head, 3 input stream, 4 annotated stream, 5 unique stream
# ARGV: 1 group, 2 expected head, 3 item count, 4 trim min-id ('' = none),
#       then per item: entry id, n log fields, log field/value pairs, annotated json, unique json,
#       traceparent ('' = none; wiredesk.tracing)
# Returns {1, new head, done} | {-1, head} on conflict | {-2, entry id} if an entry is no
# longer pending (acked or dead-lettered elsewhere): nothing is written in either case.
COMMIT_BATCH = """
local head = redis.call('GET', KEYS[2]) or '0-0'
if head ~= ARGV[2] then return {-1, head} end
local n = tonumber(ARGV[3])
local pos = 5
local items = {}
for i = 1, n do
  local eid = ARGV[pos]
  local nlog = tonumber(ARGV[pos + 1])
  local pending = redis.call('XPENDING', KEYS[3], ARGV[1], eid, eid, 1)
  if #pending == 0 then return {-2, eid} end
  items[i] = {pos, nlog}
  pos = pos + 5 + 2 * nlog
end
local function add(stream, data, schema, tp)
  if tp == '' then
    redis.call('XADD', stream, '*', 'schema', schema, 'data', data)
  else
    redis.call('XADD', stream, '*', 'schema', schema, 'data', data, 'traceparent', tp)
  end
end
local last = head
for i = 1, n do
  local p, nlog = items[i][1], items[i][2]
  redis.call('XACK', KEYS[3], ARGV[1], ARGV[p])
  if nlog > 0 then
    local args = {KEYS[1], '*'}
    for j = p + 2, p + 1 + 2 * nlog do table.insert(args, ARGV[j]) end
    last = redis.call('XADD', unpack(args))
  end
  local annotated = ARGV[p + 2 + 2 * nlog]
  local unique = ARGV[p + 3 + 2 * nlog]
  local tp = ARGV[p + 4 + 2 * nlog]
  -- the entry's schema field names the payload's own version (annotated.v1 or .v2)
  local schema = string.match(annotated, '"schema":"(annotated%.v%d+)"') or 'annotated.v1'
  if annotated ~= '' then add(KEYS[4], annotated, schema, tp) end
  if unique ~= '' then add(KEYS[5], unique, schema, tp) end
end
redis.call('SET', KEYS[2], last)
if ARGV[4] ~= '' then redis.call('XTRIM', KEYS[1], 'MINID', ARGV[4]) end
return {1, last, n}
"""


@dataclass(frozen=True, slots=True)
class Item:
    """One input entry's effect: its log record (None: nothing to remember) and its outputs."""

    entry_id: str
    record: Record | None
    annotated: bytes
    unique: bytes


class Conflict(Exception):
    """Another replica committed first: catch up and decide again."""


class NotPending(Exception):
    """An entry of the batch was finished elsewhere: drop it from the batch and retry."""

    def __init__(self, entry_id: str) -> None:
        super().__init__(entry_id)
        self.entry_id = entry_id


_TERM_DTYPE = np.dtype([("term", "<u4"), ("weight", "<f2")])


def encode_record(record: Record) -> dict[bytes, bytes]:
    """Binary, little-endian fields: the embedding as float16 (768 bytes; cosines move by
    < 1e-3) when it was computed, lexical terms as (uint32 term hash, float16 weight) pairs,
    and the opening the model reads (UTF-8, ~500 bytes), so a replica can embed the article
    when it first needs its vector (embeddings are lazy: ``features.py``); the language when
    it is not English and the multilingual (USE) embedding as float16 when computed."""
    features = record.features
    fields = {
        b"id": record.article_id.encode(),
        b"story": record.story_id.encode(),
        b"sha": features.text_sha256.encode(),
        b"sig": features.signature.astype("<u8").tobytes(),
    }
    if features.vector is not None:
        fields[b"vec"] = features.vector.astype("<f2").tobytes()
    if features.terms is not None:
        terms = np.array(list(features.terms.items()), dtype=_TERM_DTYPE)
        fields[b"lex"] = terms.tobytes()
    if features.opening is not None:
        fields[b"txt"] = features.opening.encode()
    if features.wire_copy:
        fields[b"wire"] = b"1"
    if features.lang != "en":
        fields[b"lang"] = features.lang.encode()
    if features.mvector is not None:
        fields[b"mvec"] = features.mvector.astype("<f2").tobytes()
    return fields


def decode_record(entry_id: str, fields: dict[bytes, bytes]) -> Record:
    vector = None
    if b"vec" in fields:
        vector = as_logged(np.frombuffer(fields[b"vec"], dtype="<f2"))
    terms = None
    if b"lex" in fields:
        pairs = np.frombuffer(fields[b"lex"], dtype=_TERM_DTYPE)
        terms = dict(
            zip(pairs["term"].tolist(), pairs["weight"].astype(float).tolist(), strict=True)
        )
    features = Features(
        text_sha256=fields[b"sha"].decode(),
        signature=np.frombuffer(fields[b"sig"], dtype="<u8").astype(np.uint64),
        vector=vector,
        terms=terms,
        wire_copy=fields.get(b"wire") == b"1",
        opening=fields[b"txt"].decode() if b"txt" in fields else None,
        lang=fields[b"lang"].decode() if b"lang" in fields else "en",
        mvector=as_logged(np.frombuffer(fields[b"mvec"], dtype="<f2"))
        if b"mvec" in fields
        else None,
    )
    return Record(
        article_id=fields[b"id"].decode(),
        story_id=fields[b"story"].decode(),
        features=features,
        seen_ms=int(entry_id.partition("-")[0]),
    )


class DedupeLog:
    """The Redis side of the window: replay into an index, commit a batch conditionally."""

    def __init__(
        self,
        redis: Redis,
        *,
        log_key: str,
        head_key: str,
        input_stream: str,
        group: str,
        annotated_stream: str,
        unique_stream: str,
    ) -> None:
        self._redis = redis
        self._script = redis.register_script(COMMIT_BATCH)
        self._keys = [log_key, head_key, input_stream, annotated_stream, unique_stream]
        self._group = group
        self.log_key = log_key
        self.applied = HEAD_NONE

    async def catch_up(self, index: StoryIndex, *, page: int = 2000) -> int:
        """Apply log entries after the last applied one, in log order."""
        applied = 0
        while True:
            start = "-" if self.applied == HEAD_NONE else f"({self.applied}"
            reply = await self._redis.xrange(self.log_key, start, "+", count=page)
            rows = parse_entries(reply or [])
            for entry_id, fields in rows:
                index.add(decode_record(entry_id, fields))
                self.applied = entry_id
            applied += len(rows)
            if len(rows) < page:
                return applied

    async def commit(self, items: Sequence[Item], *, trim_before_ms: int | None) -> str:
        """Write the batch if the log is still where this replica last saw it."""
        argv: list[bytes | str | int] = [
            self._group,
            self.applied,
            len(items),
            "" if trim_before_ms is None else str(trim_before_ms),
        ]
        for item in items:
            fields = encode_record(item.record) if item.record is not None else {}
            argv.extend((item.entry_id, len(fields)))
            for name, value in fields.items():
                argv.extend((name, value))
            argv.extend((item.annotated, item.unique, outgoing(item.entry_id)))
        reply = await self._script(keys=self._keys, args=argv)
        status = int(reply[0])
        detail = reply[1].decode() if isinstance(reply[1], bytes) else str(reply[1])
        if status == -1:
            raise Conflict(detail)
        if status == -2:
            raise NotPending(detail)
        return detail

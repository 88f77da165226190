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
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from redis.asyncio import Redis

from services.dedupe.features import Features, as_logged
from services.dedupe.index import Record, StoryIndex
from services.dedupe.lifecycle import Fact, ItemRef, Lifecycle
from wiredesk.messages import encode_payload
from wiredesk.streaming import EMIT_LUA, entry_args, id_ms, parse_entries, text_of, traced
from wiredesk.tracing import outgoing

HEAD_NONE = "0-0"

# KEYS: 1 log, 2 head, 3 input stream, 4 annotated stream, 5 unique stream, 6 stories stream
# ARGV: 1 group, 2 expected head, 3 item count, 4 trim min-id ('' = none), then per item: entry
#       id, then entries as wiredesk.streaming.EMIT_LUA takes them (n fields, pairs; 0 = none):
#       its log record, annotated, unique, then the number of story events and one entry each.
# Returns {1, new head, done} | {-1, head} on conflict | {-2, entry id} if an entry is no
# longer pending (acked or dead-lettered elsewhere): nothing is written in either case.
COMMIT_BATCH = (
    EMIT_LUA
    + """
local head = redis.call('GET', KEYS[2]) or '0-0'
if head ~= ARGV[2] then return {-1, head} end
local n = tonumber(ARGV[3])
local pos = 5
for i = 1, n do
  local eid = ARGV[pos]
  local pending = redis.call('XPENDING', KEYS[3], ARGV[1], eid, eid, 1)
  if #pending == 0 then return {-2, eid} end
  pos = entry_end(entry_end(entry_end(pos + 1)))
  local nev = tonumber(ARGV[pos])
  pos = pos + 1
  for j = 1, nev do pos = entry_end(pos) end
end
local last = head
pos = 5
for i = 1, n do
  redis.call('XACK', KEYS[3], ARGV[1], ARGV[pos])
  local logged
  pos, logged = emit(KEYS[1], pos + 1)
  last = logged or last
  pos = emit(KEYS[4], pos)
  pos = emit(KEYS[5], pos)
  local nev = tonumber(ARGV[pos])
  pos = pos + 1
  for j = 1, nev do pos = emit(KEYS[6], pos) end
end
redis.call('SET', KEYS[2], last)
if ARGV[4] ~= '' then redis.call('XTRIM', KEYS[1], 'MINID', ARGV[4]) end
return {1, last, n}
"""
)


# KEYS: 1 log, 2 head. ARGV: 1 record count, then each record as EMIT_LUA takes it.
# Returns the new head (the last record's id; the old head when no record has fields).
SEED_LOG = (
    EMIT_LUA
    + """
local last = redis.call('GET', KEYS[2]) or '0-0'
local pos = 2
for i = 1, tonumber(ARGV[1]) do
  local logged
  pos, logged = emit(KEYS[1], pos)
  last = logged or last
end
redis.call('SET', KEYS[2], last)
return last
"""
)


@dataclass(frozen=True, slots=True)
class Item:
    """One input entry's effect: its log record (None: nothing to remember), its lifecycle
    fact (the log record's other half; a kill or withheld has a fact and no record), its
    outputs and its story events (story.v1 JSON, in the same commit)."""

    entry_id: str
    record: Record | None
    annotated: bytes
    unique: bytes
    fact: Fact | None = None
    events: tuple[bytes, ...] = field(default=())
    outcome: str = ""
    """The processed-metric outcome; '' = 'annotated' with a record, else 'replay'."""

    @property
    def counted_as(self) -> str:
        if self.outcome:
            return self.outcome
        return "replay" if self.record is None and self.fact is None else "annotated"


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
    it is not English and the multilingual embeddings (USE, e5) as float16 when computed."""
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
    if features.evector is not None:
        fields[b"evec"] = features.evector.astype("<f2").tobytes()
    return fields


def encode_fact(fact: Fact) -> dict[bytes, bytes]:
    """The lifecycle fields of a log record (``services/dedupe/lifecycle.py``): the change,
    the story's revision and canonical after it, the title a story event shows, the item's
    identity and version, and the story the superseded version left when it moved. A record
    without features (a kill, a withheld version) carries ``id`` and ``story`` here."""
    fields = {
        b"id": fact.article_id.encode(),
        b"story": fact.story_id.encode(),
        b"chg": fact.change.encode(),
        b"rev": str(fact.revision).encode(),
        b"can": fact.canonical.encode(),
        b"ttl": fact.title.encode(),
    }
    if fact.item is not None:
        fields[b"src"] = fact.item.source.encode()
        fields[b"guid"] = fact.item.guid.encode()
        fields[b"ver"] = fact.item.version.encode()
        fields[b"pst"] = fact.item.pub_status.encode()
        if fact.item.version_created is not None:
            fields[b"vc"] = fact.item.version_created.isoformat().encode()
    if fact.supersedes is not None:
        fields[b"sup"] = fact.supersedes.encode()
    if fact.left:
        fields[b"left"] = fact.left.encode()
        fields[b"lrev"] = str(fact.left_revision).encode()
        fields[b"lcan"] = fact.left_canonical.encode()
    return fields


def decode_fact(entry_id: str, fields: dict[bytes, bytes]) -> Fact:
    """The fact of a log record; a record logged before lifecycles (no ``chg``) is an article
    without an item that joined its story (revision: the previous one + 1)."""

    def text(name: bytes, default: str = "") -> str:
        value = fields.get(name)
        return value.decode() if value is not None else default

    item = None
    if b"guid" in fields:
        created = text(b"vc")
        item = ItemRef(
            source=text(b"src"),
            guid=text(b"guid"),
            version=text(b"ver", "1"),
            version_created=datetime.fromisoformat(created) if created else None,
            pub_status=text(b"pst", "usable"),  # type: ignore[arg-type]
        )
    return Fact(
        article_id=text(b"id"),
        story_id=text(b"story"),
        change=text(b"chg", "added"),  # type: ignore[arg-type]
        revision=int(text(b"rev", "0")),
        canonical=text(b"can"),
        title=text(b"ttl"),
        item=item,
        supersedes=fields[b"sup"].decode() if b"sup" in fields else None,
        left=text(b"left"),
        left_revision=int(text(b"lrev", "0")),
        left_canonical=text(b"lcan"),
        indexed=b"sig" in fields,
        seen_ms=id_ms(entry_id),
    )


def encode_item(item: Item) -> dict[bytes, bytes]:
    """The log record of an item: features (if any), then the lifecycle fact (if any)."""
    fields = encode_record(item.record) if item.record is not None else {}
    if item.fact is not None:
        fields.update(encode_fact(item.fact))
    return fields


def output_args(item: Item, traceparent: bytes) -> list[bytes | int]:
    """An item's outputs as :data:`COMMIT_BATCH` takes them: its annotated and unique entries
    (none when the payload is empty), the number of story events, an entry for each; every
    one traced from the item's input (``traceparent`` empty: not traced)."""

    def entry(payload: bytes) -> list[bytes | int]:
        return entry_args(traced(encode_payload(payload), traceparent) if payload else {})

    args = [*entry(item.annotated), *entry(item.unique), len(item.events)]
    for event in item.events:
        args.extend(entry(event))
    return args


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
        evector=as_logged(np.frombuffer(fields[b"evec"], dtype="<f2"))
        if b"evec" in fields
        else None,
    )
    return Record(
        article_id=fields[b"id"].decode(),
        story_id=fields[b"story"].decode(),
        features=features,
        seen_ms=id_ms(entry_id),
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
        stories_stream: str = "articles:stories",
    ) -> None:
        self._redis = redis
        self._script = redis.register_script(COMMIT_BATCH)
        self._seed = redis.register_script(SEED_LOG)
        self._keys = [
            log_key,
            head_key,
            input_stream,
            annotated_stream,
            unique_stream,
            stories_stream,
        ]
        self._group = group
        self.log_key = log_key
        self.applied = HEAD_NONE

    async def catch_up(
        self, index: StoryIndex, lifecycle: Lifecycle | None = None, *, page: int = 2000
    ) -> int:
        """Apply log entries after the last applied one, in log order: records with features
        to the index, and with ``lifecycle`` every record's fact to it."""
        applied = 0
        while True:
            start = "-" if self.applied == HEAD_NONE else f"({self.applied}"
            reply = await self._redis.xrange(self.log_key, start, "+", count=page)
            rows = parse_entries(reply or [])
            for entry_id, fields in rows:
                if b"sig" in fields:
                    index.add(decode_record(entry_id, fields))
                if lifecycle is not None:
                    lifecycle.apply(decode_fact(entry_id, fields))
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
            argv.append(item.entry_id)
            argv.extend(entry_args(encode_item(item)))
            argv.extend(output_args(item, outgoing(item.entry_id)))
        reply = await self._script(keys=self._keys, args=argv)
        status = int(reply[0])
        detail = text_of(reply[1])
        if status == -1:
            raise Conflict(detail)
        if status == -2:
            raise NotPending(detail)
        return detail

    async def seed(self, records: Sequence[Record]) -> str:
        """Append ready-made records to the log and move the head to the last one, in one
        script: what committed batches leave behind, without their inputs and outputs.

        For pre-filling a window (benchmarks, tests) without deciding every article. Each
        record is written as :meth:`commit` writes it (:func:`encode_record`, entry id chosen
        by Redis, so its ``seen_ms`` is now) and the head is set the way the commit script sets
        it, so :meth:`catch_up` replays a seeded log exactly like a committed one. The records
        are not applied here (call :meth:`catch_up`); a replica that committed meanwhile is
        not overwritten: its next commit sees the moved head, catches up and decides again.
        Returns the new head.
        """
        argv: list[bytes | str | int] = [len(records)]
        for record in records:
            argv.extend(entry_args(encode_record(record)))
        return text_of(await self._seed(keys=self._keys[:2], args=argv))

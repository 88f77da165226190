"""The dead-letter stream stays bounded (count, age, payload size) on a real Redis, and replay
keeps working for what was kept whole."""

from __future__ import annotations

import hashlib
import time

import pytest
import redis
from redis.asyncio import Redis

from wiredesk.deadletter import DeadLetterPolicy
from wiredesk.dlq import read_letters, refused, replay
from wiredesk.messages import DeadLetter, decode_entry
from wiredesk.settings import WiredeskSettings
from wiredesk.streaming import StreamCommitter, ensure_group, read_new

pytestmark = pytest.mark.integration

GROUP = "g"


async def _dead_letter_all(
    aredis: Redis, settings: WiredeskSettings, policy: DeadLetterPolicy, payloads: list[bytes]
) -> StreamCommitter:
    stream = settings.streams.raw
    await ensure_group(aredis, stream, GROUP)
    for data in payloads:
        await aredis.xadd(stream, {b"schema": b"raw.v1", b"data": data})
    committer = StreamCommitter(aredis, input_stream=stream, group=GROUP, dlq=policy)
    for entry in await read_new(aredis, stream=stream, group=GROUP, consumer="c", count=100):
        await committer.dead_letter(
            entry, dlq_stream=settings.streams.dlq, stage="ingest", reason="x", error="e"
        )
    return committer


async def test_the_stream_is_capped_at_max_len_oldest_first(
    aredis: Redis, settings: WiredeskSettings
) -> None:
    payloads = [f'{{"n":{n}}}'.encode() for n in range(12)]
    await _dead_letter_all(aredis, settings, DeadLetterPolicy(max_len=5), payloads)
    entries = await aredis.xrange(settings.streams.dlq)
    letters = [decode_entry(f, DeadLetter, max_bytes=10**6) for _, f in entries]
    assert [letter.original_bytes() for letter in letters] == payloads[-5:]
    pending = await aredis.xpending(settings.streams.raw, GROUP)
    assert pending["pending"] == 0  # every input was acked with its letter


async def test_letters_older_than_the_retention_go(
    aredis: Redis, settings: WiredeskSettings
) -> None:
    dlq = settings.streams.dlq
    old_ms = int(time.time() * 1000) - 3_600_000
    await aredis.xadd(dlq, {b"data": b"old"}, id=f"{old_ms}-0")
    await _dead_letter_all(
        aredis, settings, DeadLetterPolicy(retention_s=60), [b'{"fresh":1}', b'{"fresh":2}']
    )
    entries = await aredis.xrange(dlq)
    assert len(entries) == 2 and all(b"fresh" in f[b"data"] for _, f in entries)


async def test_large_payloads_are_kept_truncated_and_replay_refuses_them(
    aredis: Redis, settings: WiredeskSettings
) -> None:
    big = b'{"body":"' + b"x" * 50_000 + b'"}'
    small = b'{"id":"small"}'
    policy = DeadLetterPolicy(max_payload_bytes=4096)
    await _dead_letter_all(aredis, settings, policy, [big, small])
    client = redis.Redis.from_url(settings.redis_url)
    try:
        letters = read_letters(client, settings.streams.dlq)
        by_size = {item.letter.payload_size: item for item in letters if item.letter}
        truncated = by_size[len(big)].letter
        assert truncated is not None and truncated.truncated
        assert len(truncated.original_bytes()) == 4096
        assert truncated.payload_sha256 == hashlib.sha256(big).hexdigest()
        assert not by_size[len(small)].letter.truncated  # type: ignore[union-attr]
        refusals = refused(letters)
        assert [letter_id for letter_id, _ in refusals] == [by_size[len(big)].id]
        assert "truncated" in refusals[0][1] and str(len(big)) in refusals[0][1]
        added = replay(client, settings.streams.dlq, letters)
        assert len(added) == 1
        replayed = client.xrange(settings.streams.raw, added[0], added[0])
        assert replayed[0][1][b"data"] == small  # type: ignore[index]
        assert client.xlen(settings.streams.dlq) == 1  # the truncated one stays
    finally:
        client.close()

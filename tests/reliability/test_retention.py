"""Retention never trims what a group has not consumed; reclaim never sticks on deleted entries."""

from __future__ import annotations

from typing import Any

import pytest
from redis.asyncio import Redis

from wiredesk.retention import TrimResult, trim_consumed
from wiredesk.settings import WiredeskSettings
from wiredesk.streaming import ensure_group, parse_entries, reclaim

pytestmark = pytest.mark.integration


async def add(aredis: Redis, stream: str, n: int) -> list[bytes]:
    out: list[bytes] = []
    for i in range(n):
        entry_id = await aredis.xadd(stream, {b"n": str(i).encode()})
        out.append(entry_id if isinstance(entry_id, bytes) else entry_id.encode())
    return out


async def read(aredis: Redis, stream: str, group: str, count: int) -> list[bytes]:
    reply: Any = await aredis.xreadgroup(group, "c", {stream: ">"}, count=count)
    return [entry_id for _, entries in reply or [] for entry_id, _ in entries]


async def ids_of(aredis: Redis, stream: str) -> list[bytes]:
    return [entry_id.encode() for entry_id, _ in parse_entries(await aredis.xrange(stream) or [])]


async def test_trim_stops_at_the_slowest_groups_oldest_pending_entry(
    aredis: Redis, settings: WiredeskSettings
) -> None:
    stream = settings.streams.raw
    await ensure_group(aredis, stream, "fast")
    await ensure_group(aredis, stream, "slow")
    ids = await add(aredis, stream, 10)
    await aredis.xack(stream, "fast", *await read(aredis, stream, "fast", 10))
    slow = await read(aredis, stream, "slow", 6)
    await aredis.xack(stream, "slow", *slow[:3])  # slow: 3 done, 3 pending, 4 unread

    result = await trim_consumed(aredis, stream)

    assert result.min_id == ids[3].decode()
    assert result.trimmed == 3
    remaining = await ids_of(aredis, stream)
    assert remaining == ids[3:]
    assert await read(aredis, stream, "slow", 10) == ids[6:]  # the unread ones are all there
    assert (await aredis.xpending(stream, "slow"))["pending"] == 7


async def test_nothing_is_trimmed_for_a_group_that_has_read_nothing_or_without_groups(
    aredis: Redis, settings: WiredeskSettings
) -> None:
    stream = settings.streams.raw
    await add(aredis, stream, 5)
    assert await trim_consumed(aredis, stream) == TrimResult(
        0, None
    )  # no group: nobody consumed anything
    await ensure_group(aredis, stream, "done")
    await aredis.xack(stream, "done", *await read(aredis, stream, "done", 5))
    await ensure_group(aredis, stream, "late")  # created at 0, has read nothing
    result = await trim_consumed(aredis, stream)
    assert result.trimmed == 0
    assert await aredis.xlen(stream) == 5
    assert await trim_consumed(aredis, "no-such-stream") == TrimResult(0, None)


async def test_keep_ms_keeps_recent_entries_even_when_consumed(
    aredis: Redis, settings: WiredeskSettings
) -> None:
    stream = settings.streams.raw
    await ensure_group(aredis, stream, "g")
    for ms in (1000, 2000, 3000, 4000):
        await aredis.xadd(stream, {b"n": b"x"}, id=f"{ms}-0")
    await aredis.xack(stream, "g", *await read(aredis, stream, "g", 10))
    result = await trim_consumed(aredis, stream, keep_ms=1500, now_ms=4000)
    assert result.min_id == "2500-0"
    assert await ids_of(aredis, stream) == [b"3000-0", b"4000-0"]
    assert (await trim_consumed(aredis, stream)).min_id == "4000-0"  # keeps the last delivered


async def test_reclaim_acknowledges_pending_entries_deleted_from_the_stream(
    aredis: Redis, settings: WiredeskSettings
) -> None:
    """Redis 6.2 keeps a deleted entry pending forever and XAUTOCLAIM returns it as nil."""
    stream = settings.streams.raw
    await ensure_group(aredis, stream, "g")
    ids = await add(aredis, stream, 3)
    await read(aredis, stream, "g", 3)
    await aredis.xdel(stream, ids[1])
    claimed = await reclaim(
        aredis, stream=stream, group="g", consumer="rescuer", min_idle_ms=0, count=10
    )
    assert [e.id for e in claimed] == [ids[0].decode(), ids[2].decode()]
    pending = await aredis.xpending_range(stream, "g", min="-", max="+", count=10)
    assert [row["message_id"] for row in pending] == [ids[0], ids[2]]

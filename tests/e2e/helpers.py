"""Waiting on a live pipeline: polls with deadlines, so a broken pipeline fails, never hangs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from redis.asyncio import Redis

from wiredesk.app.launcher import ServiceProcesses


async def wait_until(
    check: Callable[[], Awaitable[bool]],
    *,
    timeout: float = 60.0,
    what: str = "condition",
    services: ServiceProcesses | None = None,
) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if services is not None and any(n == 0 for n in services.alive().values()):
            raise AssertionError(
                f"a service died while waiting for {what}: {services.exit_codes()}"
            )
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.1)


async def drained(aredis: Redis, stream: str, group: str) -> bool:
    """Every entry of the stream was delivered to the group and acknowledged."""
    if not await aredis.exists(stream):
        return False
    last = await aredis.xrevrange(stream, count=1)
    if not last:
        return True
    for info in await aredis.xinfo_groups(stream):
        if info["name"].decode() == group:
            return bool(info["last-delivered-id"] == last[0][0] and int(info["pending"]) == 0)
    return False


def service_logs(directory: Path) -> str:
    return "\n".join(
        f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(directory.glob("*.log"))
    )

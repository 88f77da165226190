"""Reading a running stack: the read API over HTTP (stdlib only) and the streams in Redis."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import redis

from wiredesk.testing import ANNOTATED, ComposeStack


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def api_stories(api: str) -> list[dict[str, Any]]:
    """Every story the API lists (all pages)."""
    stories: list[dict[str, Any]] = []
    offset: int | None = 0
    while offset is not None:
        page = get_json(f"{api}/stories?limit=500&offset={offset}")
        stories += page["items"]
        offset = page["next_offset"]
    return stories


def api_members(api: str, story_id: str) -> list[dict[str, Any]]:
    members: list[dict[str, Any]] = get_json(f"{api}/stories/{story_id}")["members"]
    return members


def stored_count(api: str) -> int:
    """Articles in the store, as the API reports them (sum of story sizes)."""
    try:
        return sum(int(s["size"]) for s in api_stories(api))
    except OSError:
        return -1


def partition(redis_url: str, ids: set[str] | None = None) -> set[frozenset[str]]:
    """The story partition decided by dedupe: article ids grouped by story id (annotated)."""
    client = redis.Redis.from_url(redis_url)
    try:
        groups: dict[str, set[str]] = {}
        for _, fields in client.xrange(ANNOTATED):
            doc = json.loads(fields[b"data"])
            if ids is None or doc["id"] in ids:
                groups.setdefault(doc["story_id"], set()).add(doc["id"])
        return {frozenset(g) for g in groups.values()}
    finally:
        client.close()


def wait_for(
    check: Callable[[], bool], *, what: str, stack: ComposeStack, timeout: float = 120
) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{stack.logs()}")
        time.sleep(0.3)


def settled(redis_url: str) -> bool:
    """Every stage's group has read its whole input stream and acknowledged it (sync)."""
    from wiredesk.testing import NORMALIZED, RAW

    client = redis.Redis.from_url(redis_url, socket_timeout=5)
    try:
        for stream, group in ((RAW, "ingest"), (NORMALIZED, "dedupe"), (ANNOTATED, "store")):
            if not client.exists(stream):
                return False
            last = client.xrevrange(stream, count=1)
            infos = {i["name"].decode(): i for i in client.xinfo_groups(stream)}
            info = infos.get(group)
            if info is None or info["pending"] or info["last-delivered-id"] != last[0][0]:
                return False
    except redis.RedisError:
        return False
    else:
        return True
    finally:
        client.close()


def xlen(redis_url: str, stream: str) -> int:
    client = redis.Redis.from_url(redis_url, socket_timeout=5)
    try:
        return int(client.xlen(stream))
    finally:
        client.close()

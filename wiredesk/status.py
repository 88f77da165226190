"""``wiredesk status``: streams, groups, lag, pending, dead letters, embargoes in one snapshot."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import redis

from wiredesk.dlq import read_letters
from wiredesk.keys import Keys
from wiredesk.settings import WiredeskSettings
from wiredesk.streaming import text_of


@dataclass(frozen=True, slots=True)
class GroupRow:
    stream: str
    length: int
    group: str | None = None
    consumers: int | None = None
    pending: int | None = None
    lag: int | None = None
    last_delivered: str | None = None
    idle_ms: int | None = None  # the least idle consumer: how long since the group did anything


@dataclass(frozen=True, slots=True)
class EmbargoRow:
    """Ingest's embargo hold of one partition: how many items wait, and for when the next."""

    key: str
    held: int
    next_release: datetime | None = None


@dataclass(slots=True)
class Status:
    rows: list[GroupRow] = field(default_factory=list)
    dead_letters: Counter[tuple[str, str]] = field(default_factory=Counter)  # (stage, reason)
    embargoes: list[EmbargoRow] = field(default_factory=list)

    @property
    def held(self) -> int:
        """Items held for an embargo, every partition."""
        return sum(row.held for row in self.embargoes)

    @property
    def next_release(self) -> datetime | None:
        """The earliest release time of any held item."""
        return min((r.next_release for r in self.embargoes if r.next_release), default=None)


def pipeline_keys(client: Any, settings: WiredeskSettings) -> Keys:
    """The key layout the services use: tagged on a cluster or with partitions."""
    from redis.cluster import RedisCluster

    return Keys.from_settings(settings, cluster=isinstance(client, RedisCluster))


def collect(client: redis.Redis, settings: WiredeskSettings) -> Status:
    """One row per stream and group; with partitions, every partition's streams (the rows
    name them, so a lagging partition shows)."""
    status = Status()
    keys = pipeline_keys(client, settings)
    streams = keys.every_stream() if keys.tagged else settings.streams.model_dump().values()
    dlqs = [keys.dlq(p) for p in keys.all_partitions] if keys.tagged else [settings.streams.dlq]
    for stream in streams:
        length = int(client.xlen(stream))
        groups = client.xinfo_groups(stream) if client.exists(stream) else []
        if not groups:
            status.rows.append(GroupRow(stream, length))
        for info in groups:
            name = text_of(info["name"])
            consumers = client.xinfo_consumers(stream, name) if int(info["consumers"]) else []
            idle = min((int(c["idle"]) for c in consumers), default=None)
            lag = info.get("lag")
            status.rows.append(
                GroupRow(
                    stream=stream,
                    length=length,
                    group=name,
                    consumers=int(info["consumers"]),
                    pending=int(info["pending"]),
                    lag=None if lag is None else int(lag),
                    last_delivered=text_of(info["last-delivered-id"]),
                    idle_ms=idle,
                )
            )
    for p in keys.all_partitions:
        status.embargoes.append(embargo_row(client, keys.embargo(p)))
    for dlq in dlqs:
        for item in read_letters(client, dlq):
            if item.letter is None:
                status.dead_letters[("?", "unreadable")] += 1
            else:
                status.dead_letters[(item.letter.stage, item.letter.reason)] += 1
    return status


def embargo_row(client: Any, key: str) -> EmbargoRow:
    """The hold's size and earliest release (scores are release times in ms, UTC)."""
    held = int(client.zcard(key))
    first = client.zrange(key, 0, 0, withscores=True) if held else []
    when = datetime.fromtimestamp(first[0][1] / 1000, UTC) if first else None
    return EmbargoRow(key=key, held=held, next_release=when)

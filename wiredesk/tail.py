"""Reading streams for people and scripts: ``wiredesk tail``, ``status`` and ``dlq``.

Synchronous redis-py on purpose: these are one-shot commands, and a blocking ``XREAD`` loop is
the simplest correct way to follow a stream. Nothing here creates a consumer group, so tailing
a stream never changes what the pipeline's consumers see.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

import orjson
import redis

from wiredesk.settings import Streams
from wiredesk.streaming import text_of


def resolve_stream(streams: Streams, name: str) -> str:
    """``unique`` -> the configured unique stream; any other name is taken literally."""
    return str(streams.model_dump().get(name, name))


@dataclass(frozen=True, slots=True)
class StreamEntry:
    stream: str
    id: str
    schema: str | None
    data: Any  # the parsed JSON document, or the raw text when it is not JSON

    def as_json(self) -> dict[str, Any]:
        return {"stream": self.stream, "id": self.id, "schema": self.schema, "data": self.data}

    def summary(self) -> str:
        """One human line: the fields that tell entries apart in each schema."""
        doc = self.data if isinstance(self.data, dict) else {}
        if self.schema and self.schema.startswith("deadletter"):
            detail = f"{doc.get('reason')} from {doc.get('stage')}: {doc.get('error', '')[:80]}"
        elif self.schema and self.schema.startswith("story."):
            detail = story_line(doc)
        elif "story_id" in doc:
            change = doc.get("change")
            detail = (
                f"story={str(doc['story_id'])[:12]} {doc.get('method')} "
                f"{float(doc.get('score', 0)):.3f} {doc.get('title', '')[:70]!r}"
                + (
                    f" {change} r{doc.get('story_revision')}"
                    if change not in (None, "added")
                    else ""
                )
            )
        elif "title" in doc or "url" in doc:
            detail = f"{doc.get('source')} {doc.get('title') or doc.get('url')!r}"[:110]
        else:
            detail = str(self.data)[:110]
        return f"{self.id} {self.schema or '-'} {detail}"


def story_line(doc: dict[str, Any]) -> str:
    """A story.v1 event in one line: ``story <id> r3 updated members=2 canonical=<id> 'title'
    cause=<id> v2 updated`` (``canonical=-`` once the story is killed). Tolerant of a malformed
    event (a tail must show what is on the stream, not fail on it)."""
    canonical: Any = doc.get("canonical")
    cause: Any = doc.get("cause")
    canonical = canonical if isinstance(canonical, dict) else None
    cause = cause if isinstance(cause, dict) else {}
    shown = (
        f"canonical={canonical.get('id')} {str(canonical.get('title') or '')[:60]!r}"
        if canonical
        else "canonical=-"
    )
    version = f" v{cause['version']}" if cause.get("version") else ""
    return (
        f"story {doc.get('story_id')} r{doc.get('revision')} {doc.get('event')} "
        f"members={doc.get('members')} {shown} cause={cause.get('id')}{version} "
        f"{cause.get('change')}"
    )


def parse_entry(stream: str, entry_id: Any, fields: dict[Any, Any]) -> StreamEntry:
    raw = {text_of(k): v for k, v in fields.items()}
    schema = text_of(raw["schema"]) if "schema" in raw else None
    data: Any = None
    if "data" in raw:
        try:
            data = orjson.loads(raw["data"])
        except orjson.JSONDecodeError:
            data = text_of(raw["data"]) if isinstance(raw["data"], bytes) else raw["data"]
    return StreamEntry(stream=stream, id=text_of(entry_id), schema=schema, data=data)


def follow(
    client: redis.Redis,
    stream: str,
    *,
    from_start: bool = False,
    count: int | None = None,
    block_ms: int = 1000,
) -> Iterator[StreamEntry]:
    """Entries of ``stream`` as they arrive (``XREAD BLOCK``), stopping after ``count``.

    The starting point is fixed when this is *called*, not when iteration begins: "new entries"
    means those added after the call, and none added in between is skipped (``$`` would be
    re-evaluated at the first read).
    """
    last = "0-0"
    if not from_start:
        newest = cast(Any, client.xrevrange(stream, count=1))
        last = text_of(newest[0][0]) if newest else "0-0"
    return _read(client, stream, last, count, block_ms)


def _read(
    client: redis.Redis, stream: str, last: str, count: int | None, block_ms: int
) -> Iterator[StreamEntry]:
    seen = 0
    while count is None or seen < count:
        wanted = 100 if count is None else min(100, count - seen)
        reply = cast(Any, client.xread({stream: last}, count=wanted, block=block_ms))
        for _, entries in reply or []:
            for entry_id, fields in entries:
                last = text_of(entry_id)
                seen += 1
                yield parse_entry(stream, entry_id, fields)

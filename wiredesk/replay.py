"""Publishing raw articles and dead letters: the Redis side of ``wiredesk replay``.

Core: it imports no service. Turning files into raw articles (format sniffing, stable ids,
ingest's normalization for the expected count) composes ``services.ingest`` and lives in the
application, :mod:`wiredesk.app.files`; the poller and push dead-letter with :func:`dead_letter`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol

from redis.asyncio import Redis

from wiredesk.messages import DeadLetter, RawArticle, encode_entry
from wiredesk.tracing import traced_publish


class Unparsable(Protocol):
    """An item a producer could not turn into a raw message (``services.ingest.formats.Rejected``
    is one): a dead-letter reason code, the error, where it came from and the untouched bytes."""

    @property
    def reason(self) -> str: ...

    @property
    def error(self) -> str: ...

    @property
    def locator(self) -> str: ...

    @property
    def original(self) -> bytes: ...


def dead_letter(item: Unparsable, *, stage: str = "replay") -> DeadLetter:
    """The dead letter for an item a producer could not turn into a raw message."""
    return DeadLetter.wrap(
        item.original,
        stage=stage,
        reason=item.reason,
        error=item.error,
        attempts=1,
        source_stream="",
        source_id=item.locator,
    )


async def publish_rejected(redis: Redis, stream: str, items: Iterable[Unparsable]) -> int:
    """XADD one dead letter per rejected item, so nothing a file held is silently dropped."""
    sent = 0
    async with redis.pipeline(transaction=False) as pipe:
        for item in items:
            pipe.xadd(stream, encode_entry(dead_letter(item)))  # type: ignore[arg-type]
            sent += 1
        if sent:
            await pipe.execute()
    return sent


async def publish(
    redis: Redis,
    stream: str,
    articles: Iterable[RawArticle],
    *,
    rate: float | None = None,
    batch: int = 200,
    on_progress: Callable[[int], None] | None = None,
    route: Callable[[str], str] | None = None,
    confirm: Callable[[Iterable[str]], Awaitable[bool]] | None = None,
) -> int:
    """XADD the articles, pipelined; ``rate`` caps articles per second. Never trims.

    ``route`` maps an article id to its partition's raw stream (``Topology.raw_for``; default:
    everything to ``stream``); ``confirm`` waits for replicas after each chunk
    (``Topology.confirm``, WIREDESK_WAIT_REPLICAS) before it counts as sent."""
    sent = 0
    started = time.perf_counter()
    pending: list[RawArticle] = []
    chunk = 1 if rate is not None and rate < batch else batch

    async def flush() -> None:
        nonlocal sent
        async with redis.pipeline(transaction=False) as pipe:
            targets = {stream if route is None else route(a.id) for a in pending}
            for article in pending:
                fields = encode_entry(article)
                traced_publish(fields, article_id=article.id, source=article.source)
                target = stream if route is None else route(article.id)
                pipe.xadd(target, fields)  # type: ignore[arg-type]
            await pipe.execute()
        if confirm is not None:
            await confirm(targets)
        sent += len(pending)
        if on_progress is not None:
            on_progress(len(pending))
        pending.clear()
        if rate is not None:
            ahead = sent / rate - (time.perf_counter() - started)
            if ahead > 0:
                await asyncio.sleep(ahead)

    for article in articles:
        pending.append(article)
        if len(pending) >= chunk:
            await flush()
    if pending:
        await flush()
    return sent

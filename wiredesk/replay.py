"""Turning files into raw articles and publishing them: ``wiredesk replay``.

Ids are stable: the producer's own id where the file gives one (JSONL ``id``), otherwise a hash
of source, locator and body. Replaying the same files again therefore yields the same ids, and
the pipeline recognises the copies instead of storing them twice.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from pathlib import Path

from redis.asyncio import Redis

from services.ingest.formats import DocumentError, Rejected, parse_document
from services.ingest.formats.plain import stable_id as plain_stable_id
from wiredesk.messages import DeadLetter, RawArticle, encode_entry
from wiredesk.tracing import traced_publish

SUPPORTED_SUFFIXES = (
    ".txt",
    ".text",
    ".html",
    ".htm",
    ".jsonl",
    ".json",
    ".xml",
    ".rss",
    ".atom",
)
"""Suffixes a folder is searched for; what a file *is* is decided by its content."""


class ReplayInputError(ValueError):
    """A file that cannot be turned into articles (unknown type, bad JSONL line)."""


def stable_id(source: str, locator: str, body: str) -> str:
    return plain_stable_id(source, locator, body)


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """Files as given, directories as their supported files in name order."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                sorted(p for p in path.iterdir() if p.suffix.lower() in SUPPORTED_SUFFIXES)
            )
        elif path.is_file():
            files.append(path)
        else:
            raise ReplayInputError(f"{path}: no such file or directory")
    return files


def read_items(paths: Iterable[Path], *, source: str) -> Iterator[RawArticle | Rejected]:
    """Every item of every file: raw messages, and rejections (invalid ninjs, a photo, an
    item without text) that the caller dead-letters. Formats are sniffed from the content
    (services/ingest/formats); a feed or a News Message yields several items."""
    for path in expand_paths(paths):
        data = path.read_bytes()
        try:
            yield from parse_document(data, source=source, locator=path.name, name=path.name)
        except DocumentError as exc:
            raise ReplayInputError(f"{path}: unsupported file type: {exc}") from exc


def read_articles(paths: Iterable[Path], *, source: str) -> Iterator[RawArticle]:
    """The articles of :func:`read_items`; a rejected item is an error here (callers that
    can dead-letter use :func:`read_items`)."""
    for item in read_items(paths, source=source):
        if isinstance(item, Rejected):
            raise ReplayInputError(f"{item.locator}: {item.reason}: {item.error}")
        yield item


def split_items(paths: Iterable[Path], *, source: str) -> tuple[list[RawArticle], list[Rejected]]:
    """:func:`read_items` as (articles to publish, rejections to dead-letter)."""
    articles: list[RawArticle] = []
    rejected: list[Rejected] = []
    for item in read_items(paths, source=source):
        (rejected if isinstance(item, Rejected) else articles).append(item)  # type: ignore[arg-type]
    return articles, rejected


def expected_stored(articles: Iterable[RawArticle]) -> int:
    """How many distinct articles ingest will pass on (it dead-letters the rest): the same
    normalization with the same settings, so a demo knows when the store is complete."""
    from services.ingest.normalize import NormalizationError, normalize
    from services.ingest.settings import IngestSettings

    limits = IngestSettings().limits()
    kept: set[str] = set()
    for article in articles:
        try:
            normalize(article, limits)
        except NormalizationError:
            continue
        kept.add(article.id)
    return len(kept)


def dead_letter(item: Rejected, *, stage: str = "replay") -> DeadLetter:
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


async def publish_rejected(redis: Redis, stream: str, items: Iterable[Rejected]) -> int:
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

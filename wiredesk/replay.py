"""Turning files into raw articles and publishing them: ``wiredesk replay``.

Ids are stable: the producer's own id where the file gives one (JSONL ``id``), otherwise a hash
of source, locator and body. Replaying the same files again therefore yields the same ids, and
the pipeline recognises the copies instead of storing them twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson
from redis.asyncio import Redis

from wiredesk.messages import RawArticle, encode_entry
from wiredesk.tracing import traced_publish

SUPPORTED_SUFFIXES = (".txt", ".text", ".html", ".htm", ".jsonl")


class ReplayInputError(ValueError):
    """A file that cannot be turned into articles (unknown type, bad JSONL line)."""


def stable_id(source: str, locator: str, body: str) -> str:
    digest = hashlib.sha256("\x1f".join((source, locator, body)).encode("utf-8")).hexdigest()
    return digest[:32]


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


def _document(path: Path, source: str) -> RawArticle:
    body = path.read_text(encoding="utf-8", errors="replace")
    html = path.suffix.lower() in (".html", ".htm")
    return RawArticle(
        id=stable_id(source, path.name, body),
        source=source,
        url=path.name,
        content_type="text/html" if html else "text/plain",
        body=body,
    )


def _jsonl(path: Path, source: str) -> Iterator[RawArticle]:
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                doc: dict[str, Any] = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise ReplayInputError(f"{path}:{number}: invalid JSON: {exc}") from exc
            body = doc.get("body") or doc.get("text")
            if not isinstance(body, str):
                raise ReplayInputError(f"{path}:{number}: needs a string 'text' or 'body'")
            doc_source = str(doc.get("source") or source)
            locator = str(doc.get("url") or f"{path.name}#{number}")
            yield RawArticle(
                id=str(doc.get("id") or stable_id(doc_source, locator, body)),
                source=doc_source,
                url=locator,
                content_type=doc.get("content_type") or "text/plain",
                title=doc.get("title"),
                body=body,
            )


def read_articles(paths: Iterable[Path], *, source: str) -> Iterator[RawArticle]:
    for path in expand_paths(paths):
        suffix = path.suffix.lower()
        if suffix == ".jsonl":
            yield from _jsonl(path, source)
        elif suffix in SUPPORTED_SUFFIXES:
            yield _document(path, source)
        else:
            raise ReplayInputError(f"{path}: unsupported file type {suffix!r}")


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

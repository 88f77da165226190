"""Turning files into raw articles: the reading side of ``wiredesk replay``.

Ids are stable: the producer's own id where the file gives one (JSONL ``id``), otherwise a hash
of source, locator and body. Replaying the same files again therefore yields the same ids, and
the pipeline recognises the copies instead of storing them twice.

Application layer: formats are ingest's (``services.ingest.formats``), and the expected count
runs ingest's normalization; publishing is the core's :mod:`wiredesk.replay`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from services.ingest.formats import DocumentError, Rejected, parse_document
from services.ingest.formats.plain import stable_id as plain_stable_id
from wiredesk.messages import RawArticle

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

"""Ingest's stage: raw entries in, normalized articles out, bad input to the dead-letter stream."""

from __future__ import annotations

import asyncio
import logging

from redis.asyncio import Redis

from services.ingest.normalize import NormalizationError, normalize
from services.ingest.settings import IngestSettings
from wiredesk.deadletter import DeadLetterPolicy
from wiredesk.keys import Keys
from wiredesk.messages import Article, MalformedMessage, RawArticle, decode_entry, encode_entry
from wiredesk.observability import CHARS_REMOVED, PROCESSED
from wiredesk.streaming import (
    COMMIT_DUPLICATE,
    Commit,
    Emit,
    Entry,
    StreamCommitter,
)
from wiredesk.validation import check_output_size

log = logging.getLogger(__name__)


class IngestStage:
    """Validates and normalizes each raw article; a replayed article id is dropped once seen."""

    name = "ingest"
    outcomes = ("normalized", "replay-dropped")

    def __init__(
        self, settings: IngestSettings, *, partition: int = 0, keys: Keys | None = None
    ) -> None:
        self.settings = settings
        # One stage object per partition (wiredesk.partitioned); the legacy layout's names
        # are exactly settings.streams.* and settings.key(...).
        self.keys = keys or Keys.from_settings(settings)
        self.partition = partition
        self.input_stream = self.keys.raw(partition)
        self.output_stream = self.keys.normalized(partition)
        self.dlq_stream = self.keys.dlq(partition)
        self.errors_key = self.keys.errors(self.name, partition)
        self.group = settings.groups.ingest
        self.limits = settings.limits()
        self._committer: StreamCommitter | None = None

    async def setup(self, redis: Redis) -> None:
        self._committer = StreamCommitter(
            redis,
            input_stream=self.input_stream,
            group=self.group,
            dlq=DeadLetterPolicy.of(self.settings),
        )

    async def close(self) -> None:
        self._committer = None

    @property
    def committer(self) -> StreamCommitter:
        if self._committer is None:
            raise RuntimeError("IngestStage.setup() was not awaited")
        return self._committer

    def _normalize_all(self, entries: list[Entry]) -> list[Article | MalformedMessage]:
        """CPU-bound part of a batch: decode and normalize, failures as values."""
        out: list[Article | MalformedMessage] = []
        for entry in entries:
            try:
                raw = decode_entry(
                    entry.fields,
                    RawArticle,
                    # raw documents get their own, larger limit: a news page is 1-2 MB
                    max_bytes=max(self.settings.max_message_bytes, self.settings.max_raw_bytes),
                )
                article = normalize(raw, self.limits)
                check_output_size(article, self.settings.max_message_bytes)
                out.append(article)
            except MalformedMessage as exc:
                out.append(exc)
            except NormalizationError as exc:
                out.append(MalformedMessage(exc.reason, exc.error))
        return out

    async def handle(self, entries: list[Entry]) -> None:
        # In a worker thread so the event loop (health checks, shutdown) stays responsive
        # while a large batch is normalized.
        outcomes = await asyncio.to_thread(self._normalize_all, entries)
        commits: list[Commit] = []
        for entry, article in zip(entries, outcomes, strict=True):
            if isinstance(article, MalformedMessage):
                await self._reject(entry, article.reason, article.error)
                continue
            for piece in article.stripped:
                CHARS_REMOVED.labels(self.name, piece.kind).inc(len(piece.text))
            commits.append(
                Commit(
                    entry.id,
                    [Emit(self.output_stream, encode_entry(article))],
                    once_key=self.keys.seen_raw(self.partition, article.id),
                    once_ttl_ms=self.settings.replay_window_s * 1000,
                )
            )
        results = await self.committer.apply(commits)
        replays = results.count(COMMIT_DUPLICATE)
        PROCESSED.labels(self.name, "normalized").inc(len(results) - replays)
        if replays:
            PROCESSED.labels(self.name, "replay-dropped").inc(replays)

    async def _reject(self, entry: Entry, reason: str, error: str) -> None:
        await self.committer.dead_letter(
            entry,
            dlq_stream=self.dlq_stream,
            stage=self.name,
            reason=reason,
            error=error,
        )

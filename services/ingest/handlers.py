"""Ingest's stage: raw entries in, normalized articles out, bad input to the dead-letter stream."""

from __future__ import annotations

import logging

from redis.asyncio import Redis

from services.ingest.normalize import NormalizationError, normalize
from services.ingest.settings import IngestSettings
from wiredesk.messages import MalformedMessage, RawArticle, decode_entry, encode_entry
from wiredesk.observability import DEAD_LETTERED, PROCESSED
from wiredesk.streaming import (
    COMMIT_DUPLICATE,
    Commit,
    Emit,
    Entry,
    StreamCommitter,
)

log = logging.getLogger(__name__)


class IngestStage:
    """Validates and normalizes each raw article; a replayed article id is dropped once seen."""

    name = "ingest"

    def __init__(self, settings: IngestSettings) -> None:
        self.settings = settings
        self.input_stream = settings.streams.raw
        self.group = settings.groups.ingest
        self.limits = settings.limits()
        self._committer: StreamCommitter | None = None

    async def setup(self, redis: Redis) -> None:
        self._committer = StreamCommitter(
            redis,
            input_stream=self.input_stream,
            group=self.group,
            maxlen=self.settings.stream_maxlen,
        )

    async def close(self) -> None:
        self._committer = None

    @property
    def committer(self) -> StreamCommitter:
        if self._committer is None:
            raise RuntimeError("IngestStage.setup() was not awaited")
        return self._committer

    async def handle(self, entries: list[Entry]) -> None:
        commits: list[Commit] = []
        for entry in entries:
            try:
                raw = decode_entry(
                    entry.fields, RawArticle, max_bytes=self.settings.max_message_bytes
                )
                article = normalize(raw, self.limits)
            except (MalformedMessage, NormalizationError) as exc:
                await self._reject(entry, exc.reason, exc.error)
                continue
            commits.append(
                Commit(
                    entry.id,
                    [Emit(self.settings.streams.normalized, encode_entry(article))],
                    once_key=self.settings.key("seen", "raw", article.id),
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
            dlq_stream=self.settings.streams.dlq,
            stage=self.name,
            reason=reason,
            error=error,
        )
        DEAD_LETTERED.labels(self.name, reason).inc()

"""Ingest's stage: raw entries in, normalized articles out, bad input to the dead-letter stream."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from redis.asyncio import Redis

from services.ingest.embargo import (
    HOLD_HELD,
    EmbargoHold,
    Held,
    HoldNames,
    ReleaseLoop,
    is_embargoed,
    release_ms,
)
from services.ingest.normalize import NormalizationError, normalize
from services.ingest.settings import IngestSettings
from wiredesk.deadletter import DeadLetterPolicy
from wiredesk.keys import Keys
from wiredesk.messages import (
    Article,
    ArticleV2,
    MalformedMessage,
    RawArticle,
    decode_entry,
    encode_entry,
)
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
    """Validates and normalizes each raw article; a replayed article id is dropped once seen;
    an item under embargo is held until its time (services/ingest/embargo.py)."""

    name = "ingest"
    outcomes = ("normalized", "replay-dropped", "embargo-held", "embargo-released")

    def __init__(
        self, settings: IngestSettings, *, partition: int = 0, keys: Keys | None = None
    ) -> None:
        self.settings = settings
        # One stage object per partition (wiredesk.host); the legacy layout's names
        # are exactly settings.streams.* and settings.key(...).
        self.keys = keys or Keys.from_settings(settings)
        self.partition = partition
        self.input_stream = self.keys.raw(partition)
        self.output_stream = self.keys.normalized(partition)
        self.dlq_stream = self.keys.dlq(partition)
        self.errors_key = self.keys.errors(self.name, partition)
        self.group = settings.groups.ingest
        self.limits = settings.limits()
        self.embargo_key = self.keys.embargo(partition)
        self._committer: StreamCommitter | None = None
        self._hold: EmbargoHold | None = None
        self.release_loop: ReleaseLoop | None = None

    async def setup(self, redis: Redis) -> None:
        self._committer = StreamCommitter(
            redis,
            input_stream=self.input_stream,
            group=self.group,
            dlq=DeadLetterPolicy.of(self.settings),
        )
        self._hold = EmbargoHold(
            redis,
            HoldNames(
                input_stream=self.input_stream,
                group=self.group,
                hold=self.embargo_key,
                items=self.keys.embargo_items(self.partition),
                output=self.output_stream,
            ),
            wait=self._committer.wait,
        )
        # Released even with holding switched off: items held before the switch still go out.
        self.release_loop = ReleaseLoop(
            self._hold,
            stage=self.name,
            poll_s=self.settings.embargo_poll_s,
            batch=self.settings.batch_size,
            on_release=PROCESSED.labels(self.name, "embargo-released").inc,
        )
        self.release_loop.start()

    async def close(self) -> None:
        """Stop the release loop first (it must not outlive the stage's Redis client)."""
        if self.release_loop is not None:
            await self.release_loop.stop()
        self.release_loop = None
        self._hold = None
        self._committer = None

    @property
    def committer(self) -> StreamCommitter:
        if self._committer is None:
            raise RuntimeError("IngestStage.setup() was not awaited")
        return self._committer

    @property
    def embargo_hold(self) -> EmbargoHold:
        if self._hold is None:
            raise RuntimeError("IngestStage.setup() was not awaited")
        return self._hold

    def _hold_until(self, article: Article) -> datetime | None:
        """The embargo to hold this article for, or None to pass it on now (no embargo, or
        one already past: the unchanged path)."""
        if not self.settings.embargo_hold or not isinstance(article, ArticleV2):
            return None
        return article.embargoed if is_embargoed(article.embargoed) else None

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
        held: list[Held] = []
        for entry, article in zip(entries, outcomes, strict=True):
            if isinstance(article, MalformedMessage):
                await self._reject(entry, article.reason, article.error)
                continue
            for piece in article.stripped:
                CHARS_REMOVED.labels(self.name, piece.kind).inc(len(piece.text))
            once_key = self.keys.seen_raw(self.partition, article.id)
            once_ttl_ms = self.settings.replay_window_s * 1000
            until = self._hold_until(article)
            if until is not None:
                held.append(
                    Held(
                        entry.id,
                        release_ms(until),
                        encode_entry(article),
                        once_key=once_key,
                        once_ttl_ms=once_ttl_ms,
                    )
                )
                continue
            commits.append(
                Commit(
                    entry.id,
                    [Emit(self.output_stream, encode_entry(article))],
                    once_key=once_key,
                    once_ttl_ms=once_ttl_ms,
                )
            )
        results = await self.committer.apply(commits)
        held_results = await self.embargo_hold.hold(held)
        passed_replays = results.count(COMMIT_DUPLICATE)
        PROCESSED.labels(self.name, "normalized").inc(len(results) - passed_replays)
        if held_results.count(HOLD_HELD):
            PROCESSED.labels(self.name, "embargo-held").inc(held_results.count(HOLD_HELD))
        replays = passed_replays + held_results.count(COMMIT_DUPLICATE)
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

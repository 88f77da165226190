"""Dedupe's stage: normalized articles in, verdicts out (annotated + unique), state in Redis."""

from __future__ import annotations

import asyncio
import logging
import random
import time

from redis.asyncio import Redis

from services.dedupe.cascade import Thresholds, Verdict, decide
from services.dedupe.index import Record, StoryIndex
from services.dedupe.minhash import MinHasher, Signature, jaccard
from services.dedupe.settings import DedupeSettings
from services.dedupe.state import Conflict, DedupeLog, Item, NotPending
from wiredesk.messages import AnnotatedArticle, Article, MalformedMessage, decode_entry
from wiredesk.observability import DEAD_LETTERED, PROCESSED
from wiredesk.streaming import Entry, StreamCommitter

log = logging.getLogger(__name__)


class DedupeStage:
    """Assigns each article to a story; decisions are serialized through the shared log."""

    name = "dedupe"

    def __init__(self, settings: DedupeSettings) -> None:
        if settings.num_perm % settings.lsh_bands:
            raise ValueError("WIREDESK_NUM_PERM must be a multiple of WIREDESK_LSH_BANDS")
        self.settings = settings
        self.input_stream = settings.streams.normalized
        self.group = settings.groups.dedupe
        self.hasher = MinHasher(
            settings.num_perm, seed=settings.minhash_seed, shingle_size=settings.shingle_size
        )
        self.thresholds = Thresholds(near=settings.near_threshold)
        self.index = StoryIndex(bands=settings.lsh_bands)
        self._log: DedupeLog | None = None
        self._committer: StreamCommitter | None = None

    async def setup(self, redis: Redis) -> None:
        s = self.settings
        self._log = DedupeLog(
            redis,
            log_key=s.key("dedupe", "log"),
            head_key=s.key("dedupe", "head"),
            input_stream=self.input_stream,
            group=self.group,
            annotated_stream=s.streams.annotated,
            unique_stream=s.streams.unique,
            maxlen=s.stream_maxlen,
        )
        self._committer = StreamCommitter(redis, input_stream=self.input_stream, group=self.group)
        replayed = await self._log.catch_up(self.index)
        log.info("dedupe window loaded", extra={"records": replayed})

    async def close(self) -> None:
        self._log = None

    @property
    def state(self) -> DedupeLog:
        if self._log is None:
            raise RuntimeError("DedupeStage.setup() was not awaited")
        return self._log

    @property
    def committer(self) -> StreamCommitter:
        if self._committer is None:
            raise RuntimeError("DedupeStage.setup() was not awaited")
        return self._committer

    async def handle(self, entries: list[Entry]) -> None:
        articles: list[tuple[Entry, Article, Signature]] = []
        for entry in entries:
            try:
                article = decode_entry(
                    entry.fields, Article, max_bytes=self.settings.max_message_bytes
                )
            except MalformedMessage as exc:
                await self.committer.dead_letter(
                    entry,
                    dlq_stream=self.settings.streams.dlq,
                    stage=self.name,
                    reason=exc.reason,
                    error=exc.error,
                )
                DEAD_LETTERED.labels(self.name, exc.reason).inc()
                continue
            articles.append((entry, article, self.hasher.signature(article.text)))
        await self._commit_with_retry(articles)

    async def _commit_with_retry(self, articles: list[tuple[Entry, Article, Signature]]) -> None:
        for attempt in range(self.settings.max_commit_retries):
            if not articles:
                return
            await self.state.catch_up(self.index)
            self.index.evict_older_than(self._window_start_ms())
            items = self._decide_batch(articles)
            try:
                await self.state.commit(items, trim_before_ms=self._window_start_ms())
            except Conflict:
                await asyncio.sleep(random.uniform(0, 0.005 * min(attempt + 1, 20)))
                continue
            except NotPending as gone:
                articles = [a for a in articles if a[0].id != gone.entry_id]
                continue
            await self.state.catch_up(self.index)
            for item in items:
                outcome = "replay" if item.record is None else "annotated"
                PROCESSED.labels(self.name, outcome).inc()
            return
        raise RuntimeError(f"gave up committing after {self.settings.max_commit_retries} conflicts")

    def pair_score(self, a: Article, b: Article) -> float:
        """The similarity the cascade would see between two articles, for evaluation (AUC)."""
        if a.text_sha256 == b.text_sha256:
            return 1.0
        return jaccard(self.hasher.signature(a.text), self.hasher.signature(b.text))

    def _window_start_ms(self) -> int:
        return int(time.time() * 1000) - self.settings.window_s * 1000

    def _decide_batch(self, articles: list[tuple[Entry, Article, Signature]]) -> list[Item]:
        """Decide in order; later articles of the batch can join stories begun earlier in it."""
        batch = StoryIndex(bands=self.settings.lsh_bands)
        items: list[Item] = []
        for entry, article, signature in articles:
            if article.id in self.index or article.id in batch:
                items.append(Item(entry.id, None, b"", b""))  # a replay: ack, emit nothing
                continue
            verdict = self._decide_one(article, signature, batch)
            record = Record(
                article_id=article.id,
                story_id=verdict.story_id,
                text_sha256=article.text_sha256,
                signature=signature,
                seen_ms=0,
            )
            batch.add(record)
            annotated = AnnotatedArticle.from_article(
                article,
                story_id=verdict.story_id,
                duplicate_of=verdict.duplicate_of,
                method=verdict.method,
                score=round(verdict.score, 4),
                canonical_id=verdict.story_id,
            ).to_json()
            unique = annotated if verdict.duplicate_of is None else b""
            items.append(Item(entry.id, record, annotated, unique))
        return items

    def _decide_one(self, article: Article, signature: Signature, batch: StoryIndex) -> Verdict:
        verdicts = [
            decide(
                article_id=article.id,
                text_sha256=article.text_sha256,
                signature=signature,
                index=index,
                thresholds=self.thresholds,
            )
            for index in (self.index, batch)
        ]
        joined = [v for v in verdicts if v.duplicate_of is not None]
        if not joined:
            return verdicts[0]
        return max(joined, key=lambda v: (v.method == "exact", v.score))

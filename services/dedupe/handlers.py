"""Dedupe's stage: normalized articles in, verdicts out (annotated + unique), state in Redis."""

from __future__ import annotations

import asyncio
import logging
import random
import time

from redis.asyncio import Redis

from services.dedupe.cascade import Thresholds, Verdict, canonical, decide, pair_scores
from services.dedupe.features import Features, Featurizer
from services.dedupe.index import Record, StoryIndex
from services.dedupe.minhash import MinHasher
from services.dedupe.settings import DedupeSettings
from services.dedupe.state import Conflict, DedupeLog, Item, NotPending
from wiredesk.messages import AnnotatedArticle, Article, MalformedMessage, decode_entry
from wiredesk.observability import DEAD_LETTERED, PROCESSED
from wiredesk.streaming import Entry, StreamCommitter

log = logging.getLogger(__name__)

Prepared = tuple[Entry, Article, Features]


class DedupeStage:
    """Assigns each article to a story; decisions are serialized through the shared log."""

    name = "dedupe"

    def __init__(self, settings: DedupeSettings) -> None:
        if settings.num_perm % settings.lsh_bands:
            raise ValueError("WIREDESK_NUM_PERM must be a multiple of WIREDESK_LSH_BANDS")
        self.settings = settings
        self.input_stream = settings.streams.normalized
        self.group = settings.groups.dedupe
        self.featurizer = Featurizer(
            MinHasher(
                settings.num_perm, seed=settings.minhash_seed, shingle_size=settings.shingle_size
            ),
            semantic=settings.semantic,
            max_tokens=settings.embed_max_tokens,
            batch_size=settings.embed_batch_size,
        )
        self.thresholds = Thresholds(
            near=settings.near_threshold,
            semantic=settings.semantic_threshold,
            lexical=settings.lexical_threshold,
        )
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
        articles: list[tuple[Entry, Article]] = []
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
            articles.append((entry, article))
        if not articles:
            return
        # The model runs once per article, in a worker thread (numpy releases the GIL), and its
        # output is reused if the commit has to be retried after another replica's commit.
        features = await asyncio.to_thread(self.featurizer.featurize, [a for _, a in articles])
        prepared = [(e, a, f) for (e, a), f in zip(articles, features, strict=True)]
        await self._commit_with_retry(prepared)

    async def _commit_with_retry(self, prepared: list[Prepared]) -> None:
        for attempt in range(self.settings.max_commit_retries):
            if not prepared:
                return
            await self.state.catch_up(self.index)
            self.index.evict_older_than(self._window_start_ms())
            items = self._decide_batch(prepared)
            try:
                await self.state.commit(items, trim_before_ms=self._window_start_ms())
            except Conflict:
                await asyncio.sleep(random.uniform(0, 0.005 * min(attempt + 1, 20)))
                continue
            except NotPending as gone:
                prepared = [p for p in prepared if p[0].id != gone.entry_id]
                continue
            await self.state.catch_up(self.index)
            for item in items:
                PROCESSED.labels(self.name, "replay" if item.record is None else "annotated").inc()
            return
        raise RuntimeError(f"gave up committing after {self.settings.max_commit_retries} conflicts")

    def pair_scores(self, a: Article, b: Article) -> dict[str, float]:
        """The similarities the cascade would see between two articles, for evaluation."""
        fa, fb = self.featurizer.featurize([a, b])
        return pair_scores(fa, fb, self.thresholds)

    def _window_start_ms(self) -> int:
        return int(time.time() * 1000) - self.settings.window_s * 1000

    def _decide_batch(self, prepared: list[Prepared]) -> list[Item]:
        """Decide in order; later articles of the batch can join stories begun earlier in it."""
        batch = StoryIndex(bands=self.settings.lsh_bands)
        indexes = [self.index, batch]
        items: list[Item] = []
        for entry, article, features in prepared:
            if article.id in self.index or article.id in batch:
                items.append(Item(entry.id, None, b"", b""))  # a replay: ack, emit nothing
                continue
            verdict = decide(
                article_id=article.id,
                features=features,
                indexes=indexes,
                thresholds=self.thresholds,
            )
            batch.add(Record(article.id, verdict.story_id, features, seen_ms=0))
            annotated = AnnotatedArticle.from_article(
                article,
                story_id=verdict.story_id,
                duplicate_of=verdict.duplicate_of,
                method=verdict.method,
                score=round(verdict.score, 4),
                canonical_id=self._canonical(verdict, indexes),
                evidence=verdict.evidence,
            ).to_json()
            unique = annotated if verdict.duplicate_of is None else b""
            items.append(Item(entry.id, batch.get(article.id), annotated, unique))
        return items

    @staticmethod
    def _canonical(verdict: Verdict, indexes: list[StoryIndex]) -> str:
        members: list[tuple[str, Features]] = []
        for index in indexes:
            for article_id in index.members(verdict.story_id):
                record = index.get(article_id)
                if record is not None:
                    members.append((article_id, record.features))
        return canonical(members) if members else verdict.story_id

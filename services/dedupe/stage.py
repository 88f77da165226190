"""Dedupe's stage: normalized articles in, verdicts out (annotated + unique), state in Redis."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from redis.asyncio import Redis

from services.dedupe.cascade import (
    CANONICAL_MEMBERS,
    Need,
    Plan,
    Thresholds,
    Verdict,
    canonical,
    plan,
    score,
    unmet,
)
from services.dedupe.features import E5, MINILM, USE, Features, Featurizer, as_logged
from services.dedupe.index import Record, StoryIndex
from services.dedupe.lifecycle import (
    LATE,
    NEW_ITEM,
    NO_STORY,
    STATUS,
    UNKNOWN_STATUS,
    UPDATE,
    Fact,
    Lifecycle,
    Pending,
    classify,
    events_of,
    item_of,
    place_update,
)
from services.dedupe.lifecycle import plan as plan_fact
from services.dedupe.metrics import EMBED_SECONDS, EMBEDDED
from services.dedupe.minhash import MinHasher, jaccard
from services.dedupe.settings import DedupeSettings
from services.dedupe.state import Conflict, DedupeLog, Item, NotPending
from wiredesk.deadletter import DeadLetterPolicy
from wiredesk.keys import Keys
from wiredesk.messages import AnnotatedArticle, AnnotatedArticleV2, Article, Change, Method
from wiredesk.observability import PROCESSED
from wiredesk.streaming import Entry, StreamCommitter

log = logging.getLogger(__name__)

Prepared = tuple[Entry, Article, Features]

MAX_PLAN_ROUNDS = 10
"""Times a batch is planned before it is decided: once, normally; again only if the window
changed while the batch was embedding (the reclaim loop's batch committed), each round
embedding only what is new."""

MAX_MERGES_AT_ONCE = 64
"""Posting-block merges one background run does before it yields to the next commit's."""

UNDECIDED = "\x00undecided"
"""The story of a batch article planned but not decided yet (no story id is ever this)."""


@dataclass(slots=True)
class BatchPlan:
    """A batch's plans, aligned with it (``None``: the cascade does not decide that article:
    a replay, a late version, a kill), and the index of its planned articles, which the
    decisions file under their stories in order."""

    plans: list[Plan | None]
    batch: StoryIndex
    needs: set[Need] = field(init=False)

    def __post_init__(self) -> None:
        self.needs = {n for p in self.plans if p is not None for n in p.needs}

    def decided(self, article_id: str) -> bool:
        """Whether the article was decided (filed under a story) earlier in the batch."""
        record = self.batch.get(article_id)
        return record is not None and record.story_id != UNDECIDED

    def file(self, article_id: str, story_id: str) -> Record:
        """File a decided article under its story; its record, as the log will carry it."""
        self.batch.file_under(article_id, story_id)
        record = self.batch.get(article_id)
        assert record is not None  # planned, so indexed
        return record

    def unmet(self, prepared: list[Prepared], window: StoryIndex) -> set[Need]:
        """The needs still without an embedding after embedding them."""
        missing: set[Need] = set()
        for (_, _, features), planned in zip(prepared, self.plans, strict=True):
            if planned is not None and planned.needs:
                missing |= unmet(planned, features, [window, self.batch])
        return missing


def _walk(article: Article, view: Pending | None) -> bool:
    """Whether the cascade decides ``article`` (not a replay, late version or kill), as the
    decisions will classify it; with lifecycles, the article is applied to the scratch
    ``view`` with a stand-in story (its own id, the item's for a kill, none if unknown)."""
    if view is None:
        return True
    if view.knows(article.id):
        return False
    item = item_of(article)
    kind, current = classify(view, item)
    if kind == LATE:
        return False
    cascaded = kind in (NEW_ITEM, UPDATE)
    story = article.id if cascaded else NO_STORY
    if kind == STATUS and current is not None:
        story = current.story_id
    view.apply(Fact(article.id, story, "added", 0, "", "", item, indexed=cascaded))
    return cascaded


class DedupeStage:
    """Assigns each article to a story; decisions are serialized through the shared log."""

    name = "dedupe"
    outcomes = ("annotated", "replay", LATE, UNKNOWN_STATUS)

    def __init__(
        self,
        settings: DedupeSettings,
        *,
        keys: Keys | None = None,
        lifecycle: bool | None = None,
    ) -> None:
        if settings.num_perm % settings.lsh_bands:
            raise ValueError("WIREDESK_NUM_PERM must be a multiple of WIREDESK_LSH_BANDS")
        self.settings = settings
        # Legacy layout: the names below are settings.streams.* and settings.key(...) exactly;
        # with partitions, services/dedupe/partitioned.py feeds this one stage per partition.
        self.keys = keys or Keys.from_settings(settings)
        self.input_stream = self.keys.normalized(0)
        self.group = settings.groups.dedupe
        self.featurizer = Featurizer(
            MinHasher(
                settings.num_perm, seed=settings.minhash_seed, shingle_size=settings.shingle_size
            ),
            semantic=settings.semantic,
            max_tokens=settings.embed_max_tokens,
            batch_size=settings.embed_batch_size,
            backend=settings.embed_backend,
            threads=settings.embed_threads,
            multilingual=settings.multilingual,
            graph=settings.model_graph,
            e5=settings.multilingual_e5_weight > 0,  # else the e5 model is never loaded
        )
        self.thresholds = Thresholds(
            near=settings.near_threshold,
            semantic=settings.semantic_threshold,
            lexical=settings.lexical_threshold,
            multilingual=settings.multilingual_threshold,
            multilingual_lexical=settings.multilingual_lexical_threshold,
            crosslingual=settings.crosslingual_threshold,
            crosslingual_lexical_weight=settings.crosslingual_lexical_weight,
            crosslingual_candidates=settings.crosslingual_candidates
            if settings.multilingual
            else 0,
            monolingual_e5_weight=settings.multilingual_e5_weight if settings.multilingual else 0,
            monolingual_mixed=settings.multilingual_mixed_threshold,
        )
        self.index = StoryIndex(bands=settings.lsh_bands, background_merges=True)
        self._merging: asyncio.Task[None] | None = None
        self.lifecycle: Lifecycle | None = None
        """Items' versions and stories' revisions (``lifecycle.py``): on the single-stream
        layout only; the partitioned layout treats every version as a copy (docs/design.md)."""
        if lifecycle if lifecycle is not None else not self.keys.tagged:
            self.lifecycle = Lifecycle()
        self.embeddings: Counter[str] = Counter()
        """Openings embedded by this replica, per encoder (benchmarks and evaluation: the
        gate's effect; the metric is ``wiredesk_dedupe_embedded_total``)."""
        self._log: DedupeLog | None = None
        self._committer: StreamCommitter | None = None

    async def setup(self, redis: Redis) -> None:
        self._log = DedupeLog(
            redis,
            log_key=self.keys.dedupe_log,
            head_key=self.keys.dedupe_head,
            input_stream=self.input_stream,
            group=self.group,
            annotated_stream=self.keys.annotated(0),
            unique_stream=self.keys.unique,
            stories_stream=self.keys.stories,
        )
        self._committer = StreamCommitter(
            redis,
            input_stream=self.input_stream,
            group=self.group,
            dlq=DeadLetterPolicy.of(self.settings),
        )
        replayed = await self._log.catch_up(self.index, self.lifecycle)
        await asyncio.to_thread(self.index.freeze)
        log.info("dedupe window loaded", extra={"records": replayed})

    async def close(self) -> None:
        if self._merging is not None:
            self._merging.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._merging
        self._log = None

    def _start_merges(self) -> None:
        """Merge the window's posting blocks in a worker thread, while the next batch is read
        and decided: a merge of thousands of articles' postings takes tens of milliseconds,
        which the articles waiting behind it would otherwise add to their latency."""
        if (self._merging is None or self._merging.done()) and self.index.next_merge():
            self._merging = asyncio.create_task(self._merge_blocks(), name="dedupe-merges")

    async def _merge_blocks(self) -> None:
        for _ in range(MAX_MERGES_AT_ONCE):
            job = self.index.next_merge()
            if job is None:
                return
            merged = await asyncio.to_thread(job.run)
            self.index.install(job, merged)  # dropped if a block was evicted meanwhile

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
        articles = await self.committer.decode_or_dead_letter(
            entries,
            Article,
            max_bytes=self.settings.max_message_bytes,
            dlq_stream=self.settings.streams.dlq,
            stage=self.name,
        )
        if not articles:
            return
        # Features without embeddings, in a worker thread (numpy releases the GIL), reused if the
        # commit has to be retried after another replica's commit. Embeddings come later, only
        # for the articles the lexical gate lets through (``decide``).
        features = await asyncio.to_thread(self.featurizer.featurize, [a for _, a in articles])
        prepared = [(e, a, f) for (e, a), f in zip(articles, features, strict=True)]
        await self._commit_with_retry(prepared)

    async def _commit_with_retry(
        self,
        prepared: list[Prepared],
        commit: Callable[[Sequence[Item], int], Awaitable[object]] | None = None,
    ) -> None:
        """Decide and commit until no other replica committed in between; a batch whose
        embeddings exceed ``embed_commit_budget`` is decided and committed prefix by prefix
        (each decided against the window its predecessors left, as any batching is).

        ``commit(items, trim_before_ms)`` raises :class:`Conflict` (or :class:`NotPending`);
        the default is the single-node all-in-one script, partitions pass their log-first one.
        """
        failed = 0
        while prepared:
            if failed >= self.settings.max_commit_retries:
                raise RuntimeError(f"gave up committing after {failed} conflicts")
            await self.state.catch_up(self.index, self.lifecycle)
            self.index.evict_older_than(self._window_start_ms())
            if self.lifecycle is not None:
                self.lifecycle.evict_older_than(self._window_start_ms())
            items = await self.decide(prepared, budget=self.settings.embed_commit_budget)
            try:
                if commit is None:
                    await self.state.commit(items, trim_before_ms=self._window_start_ms())
                else:
                    await commit(items, self._window_start_ms())
            except Conflict:
                failed += 1
                await asyncio.sleep(random.uniform(0, 0.005 * min(failed, 20)))
                continue
            except NotPending as gone:
                failed += 1
                prepared = [p for p in prepared if p[0].id != gone.entry_id]
                continue
            await self.state.catch_up(self.index, self.lifecycle)
            self._start_merges()
            counts = Counter(item.counted_as for item in items)
            PROCESSED.labels(self.name, "annotated").inc(counts["annotated"])
            PROCESSED.labels(self.name, "replay").inc(counts["replay"])
            PROCESSED.labels(self.name, "late-version").inc(counts["late-version"])
            PROCESSED.labels(self.name, "kill-unknown").inc(counts["kill-unknown"])
            prepared = prepared[len(items) :]  # a batch cut at the embedding budget: the rest

    @property
    def embedded(self) -> int:
        """MiniLM embeddings computed by this replica."""
        return self.embeddings[MINILM]

    @property
    def embedded_multilingual(self) -> int:
        """USE embeddings computed by this replica."""
        return self.embeddings[USE]

    @property
    def embedded_e5(self) -> int:
        """multilingual-e5-small embeddings computed by this replica."""
        return self.embeddings[E5]

    def _window_start_ms(self) -> int:
        return int(time.time() * 1000) - self.settings.window_s * 1000

    def _state_generation(self) -> tuple[int, int]:
        """Changes whenever the window or the lifecycle does (a commit caught up, eviction)."""
        lifecycle = self.lifecycle.generation if self.lifecycle is not None else 0
        return self.index.generation, lifecycle

    async def decide(self, prepared: list[Prepared], *, budget: int = 0) -> list[Item]:
        """Decide the batch in one pass: plan every article, embed what the plans need (one
        batched call per encoder), score the plans in order.

        With a ``budget``, only the longest prefix whose articles need at most ``budget``
        embeddings is decided (always at least one article: its own needs are not split);
        one item per article of that prefix comes back, and the caller decides the rest
        after committing it. The rest is then decided as any later batch is: plans and
        verdicts read the window and the articles before, never after (an earlier article's
        MiniLM vector is read as the log rounds it, as across any batch boundary).

        The plans read only hashes, signatures and terms, so they are made before any verdict;
        the one ``await`` (embedding) comes between planning and scoring. If the window or the
        lifecycle changed meanwhile (the reclaim loop's batch committed in between), the plans
        may be stale and the batch is planned again, the embeddings done so far kept: they are
        in ``prepared`` (reused on a retry after a conflict, and logged with the record) and in
        the window's records.
        """
        for _ in range(MAX_PLAN_ROUNDS):
            generation = self._state_generation()
            planned = self._plan(prepared, budget)
            if planned.needs:
                for encoder in (MINILM, USE, E5):
                    await self._embed(prepared, planned, encoder)
                if self._state_generation() != generation:
                    continue
            head = prepared[: len(planned.plans)]  # _embed replaced features in ``prepared``
            unmet_needs = planned.unmet(head, self.index)
            if unmet_needs:  # an opening that cannot be embedded: a bug, not bad input
                raise RuntimeError(f"embeddings missing after embedding: {sorted(unmet_needs)}")
            if self.lifecycle is not None:
                return self._decide_lifecycle(head, planned, self.lifecycle.pending())
            return self._decide_batch(head, planned)
        raise RuntimeError(f"the window kept changing for {MAX_PLAN_ROUNDS} planning rounds")

    def _plan(self, prepared: list[Prepared], budget: int = 0) -> BatchPlan:
        """Each article's ``cascade.plan`` against the window and the batch before it; with a
        ``budget``, planning stops before the first article whose needs would take the
        batch's past it (unless nothing was needed before it).

        Which articles the cascade decides is settled here, as the decisions will settle it:
        replays, late versions and kills never are. With lifecycles the batch walks a scratch
        view of the pending state, each article applied with a stand-in story (its own id):
        versions, kills and replays depend on items and ids, never on which story a verdict
        picks, so the scratch view classifies every article as the decisions will."""
        batch = StoryIndex(bands=self.settings.lsh_bands)
        indexes = [self.index, batch]
        view = self.lifecycle.pending() if self.lifecycle is not None else None
        plans: list[Plan | None] = []
        needs: set[Need] = set()
        for _, article, features in prepared:
            if article.id in self.index or article.id in batch or not _walk(article, view):
                plans.append(None)
                continue
            planned = plan(
                article_id=article.id,
                features=features,
                indexes=indexes,
                thresholds=self.thresholds,
            )
            if budget and needs and len(needs | planned.needs) > budget:
                break  # the scratch view saw this article: it is discarded with the plan
            needs |= planned.needs
            plans.append(planned)
            batch.add(Record(article.id, UNDECIDED, features, seen_ms=0))
        return BatchPlan(plans, batch)

    async def _embed(self, prepared: list[Prepared], planned: BatchPlan, encoder: str) -> None:
        """Embed, at once, the openings of every article the plans need ``encoder``'s vector
        of (batch articles or window records). USE and e5 vectors are rounded as the log rounds
        them (``as_logged``) at once, so the vector a batch article decides with is the one every
        replica replays; MiniLM vectors of batch articles are logged as computed."""
        wanted = {i for kind, i in planned.needs if kind == encoder}
        texts = self._openings(prepared, wanted)
        if not texts:
            return
        ids = list(texts)
        started = time.perf_counter()
        raw = await asyncio.to_thread(self.featurizer.embed_with, encoder, [texts[i] for i in ids])
        self.embeddings[encoder] += len(ids)
        if encoder == MINILM:
            by_id = dict(zip(ids, raw, strict=True))
        else:
            by_id = {i: as_logged(v) for i, v in zip(ids, raw, strict=True)}
        EMBED_SECONDS.labels(encoder).observe(time.perf_counter() - started)
        EMBEDDED.labels(encoder).inc(len(ids))
        for position, (entry, article, features) in enumerate(prepared):
            vector = by_id.get(article.id)
            if vector is not None and features.embedding(encoder) is None:
                prepared[position] = (entry, article, features.with_embedding(encoder, vector))
                planned.batch.set_embedding(article.id, encoder, vector)
        for article_id, vector in by_id.items():
            # A window article's vector is the one its log record would have carried. (An id
            # can be both: a replayed article already in the window.)
            logged = as_logged(vector) if encoder == MINILM else vector
            self.index.set_embedding(article_id, encoder, logged)

    def _openings(self, prepared: list[Prepared], article_ids: set[str]) -> dict[str, str]:
        """The opening of each id: a batch article's own, else its window record's."""
        texts: dict[str, str] = {}
        for _, article, features in prepared:
            if article.id in article_ids and features.opening is not None:
                texts.setdefault(article.id, features.opening)
        for article_id in sorted(article_ids - texts.keys()):
            record = self.index.get(article_id)
            if record is not None and record.features.opening is not None:
                texts[article_id] = record.features.opening
        return texts

    def _decide_batch(self, prepared: list[Prepared], planned: BatchPlan) -> list[Item]:
        """Score in order; later articles of the batch can join stories begun earlier in it."""
        batch = planned.batch
        indexes = [self.index, batch]
        items: list[Item] = []
        for (entry, article, features), planned_one in zip(prepared, planned.plans, strict=True):
            if planned_one is None:
                items.append(Item(entry.id, None, b"", b""))  # a replay: ack, emit nothing
                continue
            verdict = score(planned_one, features, indexes, self.thresholds)
            record = planned.file(article.id, verdict.story_id)
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
            items.append(Item(entry.id, record, annotated, unique))
        return items

    def _decide_lifecycle(
        self, prepared: list[Prepared], planned: BatchPlan, view: Pending
    ) -> list[Item]:
        """``_decide_batch`` with items' lifecycles (``lifecycle.py``): a late version is
        acked with no output; a kill or withheld leaves its story by identity; a new version
        is decided by the cascade again and stays in its item's story unless the cascade
        places it confidently elsewhere; every change of a story is a story event."""
        batch = planned.batch
        indexes = [self.index, batch]
        items: list[Item] = []
        for (entry, article, features), planned_one in zip(prepared, planned.plans, strict=True):
            if article.id in self.index or planned.decided(article.id) or view.knows(article.id):
                items.append(Item(entry.id, None, b"", b""))  # a replay: ack, emit nothing
                continue
            item = item_of(article)
            kind, current = classify(view, item)
            if (planned_one is not None) != (kind in (NEW_ITEM, UPDATE)):
                raise RuntimeError(f"{article.id} was planned as other than {kind}: a bug")
            if kind == LATE:
                items.append(Item(entry.id, None, b"", b"", outcome=LATE))
                continue
            change: Change = "added"
            if item is not None and item.pub_status != "usable":
                change = "killed" if item.pub_status == "canceled" else "withheld"
            if kind == UNKNOWN_STATUS:
                fact = plan_fact(
                    view,
                    article_id=article.id,
                    title=article.title,
                    item=item,
                    story_id=NO_STORY,
                    change=change,
                    current=current,
                    choose=self._chooser(indexes),
                )
                view.apply(fact)
                log.warning(
                    "kill or withheld of an item dedupe does not know: remembered, no story",
                    extra={"article_id": article.id, "guid": item.guid if item else None},
                )
                items.append(Item(entry.id, None, b"", b"", fact=fact, outcome=UNKNOWN_STATUS))
                continue
            if kind == STATUS:
                assert current is not None  # classify: a known item
                verdict = self._same_item(current.story_id, current.article_id, features, indexes)
            elif kind == UPDATE:
                assert current is not None
                assert planned_one is not None  # checked above
                change = "updated"
                cascade = score(planned_one, features, indexes, self.thresholds)
                confident = cascade.method in (Method.EXACT, Method.NEAR)
                target = place_update(current.story_id, cascade.story_id, confident, view)
                verdict = (
                    cascade
                    if target == cascade.story_id
                    else self._same_item(target, current.article_id, features, indexes)
                )
            else:
                assert planned_one is not None
                verdict = score(planned_one, features, indexes, self.thresholds)
            record = None
            if kind != STATUS:  # a live member: the canonical is chosen with its features
                record = planned.file(article.id, verdict.story_id)
            fact = plan_fact(
                view,
                article_id=article.id,
                title=article.title,
                item=item,
                story_id=verdict.story_id,
                change=change,
                current=current,
                choose=self._chooser(indexes),
            )
            view.apply(fact)
            events = events_of(fact, view)
            annotated = AnnotatedArticle.from_article(
                article,
                story_id=verdict.story_id,
                duplicate_of=verdict.duplicate_of,
                method=verdict.method,
                score=round(verdict.score, 4),
                canonical_id=fact.canonical,
                evidence=verdict.evidence,
            )
            if isinstance(annotated, AnnotatedArticleV2) and events:
                annotated = annotated.model_copy(
                    update={
                        "change": change,
                        "supersedes": fact.supersedes,
                        "story_event": events[-1].event,
                        "story_revision": events[-1].revision,
                        "story_members": events[-1].members,
                    }
                )
            payload = annotated.to_json()
            unique = payload if fact.revision == 1 and verdict.duplicate_of is None else b""
            items.append(
                Item(
                    entry.id,
                    record,
                    payload,
                    unique,
                    fact=fact,
                    events=tuple(e.to_json() for e in events),
                )
            )
        return items

    @staticmethod
    def _same_item(
        story_id: str, superseded: str, features: Features, indexes: list[StoryIndex]
    ) -> Verdict:
        """The verdict of a version placed by its item's identity, not by the cascade:
        ``near`` to the version it replaces, scored with their MinHash Jaccard estimate (the
        measured similarity, 0 when that version left the window), ``same_item`` = 1."""
        score = 0.0
        for index in indexes:
            record = index.get(superseded)
            if record is not None:
                score = jaccard(features.signature, record.features.signature)
                break
        return Verdict(
            story_id,
            Method.NEAR,
            superseded,
            score,
            {"jaccard": round(score, 4), "same_item": 1.0},
        )

    @staticmethod
    def _chooser(indexes: list[StoryIndex]) -> Callable[[list[str]], str]:
        """The canonical among live members (``canonical``), with their logged features."""

        def choose(live: list[str]) -> str:
            members: list[tuple[str, Features]] = []
            for article_id in live[:CANONICAL_MEMBERS]:
                for index in indexes:
                    record = index.get(article_id)
                    if record is not None:
                        members.append((article_id, record.features))
                        break
            return canonical(members) if members else live[0]

        return choose

    @staticmethod
    def _canonical(verdict: Verdict, indexes: list[StoryIndex]) -> str:
        """The story's canonical member, over its earliest members in the window and the
        batch (only those are candidates: gathering a huge story's every member would cost
        what ``CANONICAL_MEMBERS`` saves)."""
        members: list[tuple[str, Features]] = []
        for index in indexes:
            for article_id in index.members(verdict.story_id, CANONICAL_MEMBERS - len(members)):
                record = index.get(article_id)
                if record is not None:
                    members.append((article_id, record.features))
        return canonical(members) if members else verdict.story_id

"""The dedupe window as an in-memory index, rebuilt from the shared log in Redis. Pure.

Each replica holds the same index because each one applies the same log in the same order
(see ``state.py``); the index is a cache of Redis state, never the source of truth.

Lookups, one per cascade stage: a hash table of fingerprints (exact), LSH band buckets over
MinHash signatures (near), and for the semantic stage an exact inverted index of the TF-IDF
vectors (``LexicalIndex``: the lexical gate's candidates) plus a matrix of the unit-length
embeddings known so far. Embeddings are lazy (``features.py``): a window article gets its vector
when it is first a candidate, and this replica keeps it (``set_vector``).
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass, replace
from itertools import islice

import numpy as np
import numpy.typing as npt

from services.dedupe.e5 import E5_DIM
from services.dedupe.features import (
    E5,
    MINILM,
    USE,
    Features,
    Terms,
    Vector,
    language_group,
    lexical_cosine,
)
from services.dedupe.minhash import band_keys, jaccard
from services.dedupe.multilingual import USE_DIM


@dataclass(frozen=True, slots=True)
class Record:
    """What the window remembers of one article."""

    article_id: str
    story_id: str
    features: Features
    seen_ms: int


@dataclass(frozen=True, slots=True)
class Match:
    record: Record
    score: float


class VectorTable:
    """Rows of unit vectors with free-slot reuse; a removed row is zeroed, so it never matches."""

    def __init__(self, dim: int = 384, capacity: int = 1024) -> None:
        self.dim = dim
        self._matrix = np.zeros((capacity, dim), dtype=np.float32)
        self._ids: list[str | None] = []
        self._free: list[int] = []
        self._row_of: dict[str, int] = {}

    def add(self, article_id: str, vector: Vector) -> None:
        if self._free:
            row = self._free.pop()
            self._ids[row] = article_id
        else:
            row = len(self._ids)
            if row == self._matrix.shape[0]:
                grown = np.zeros((row * 2, self.dim), dtype=np.float32)
                grown[:row] = self._matrix
                self._matrix = grown
            self._ids.append(article_id)
        self._matrix[row] = vector
        self._row_of[article_id] = row

    def remove(self, article_id: str) -> None:
        row = self._row_of.pop(article_id, None)
        if row is not None:
            self._matrix[row] = 0.0
            self._ids[row] = None
            self._free.append(row)

    def above(self, vector: Vector, threshold: float) -> list[tuple[str, float]]:
        """Every stored id whose cosine with ``vector`` reaches ``threshold``."""
        used = len(self._ids)
        if used == 0:
            return []
        sims = self._matrix[:used] @ vector
        rows = np.flatnonzero(sims >= threshold)
        return [(i, float(sims[r])) for r in rows if (i := self._ids[r]) is not None]

    def __contains__(self, article_id: object) -> bool:
        return article_id in self._row_of

    def cosines(self, vector: Vector, article_ids: list[str]) -> list[float]:
        """Cosines of ``vector`` with the stored vectors of ``article_ids`` (all present): the
        same float32 matrix-vector product as ``above``, on the candidates' rows only."""
        rows = [self._row_of[i] for i in article_ids]
        sims = self._matrix[rows] @ vector
        return [float(s) for s in sims]


class _Block:
    """Frozen postings of up to ``LexicalIndex.BLOCK_ROWS`` articles, sorted by term: a CSC
    matrix whose column index is the sorted array of term hashes (no vocabulary to maintain)."""

    __slots__ = ("alive", "dead", "ids", "max_norm", "rows", "starts", "terms", "weights")

    def __init__(
        self,
        ids: list[str],
        terms: npt.NDArray[np.uint32],
        rows: npt.NDArray[np.int32],
        weights: npt.NDArray[np.float32],
        max_norm: float,
    ) -> None:
        order = np.argsort(terms, kind="stable")  # timsort: linear on two merged sorted runs
        ordered = terms[order]
        # Run starts of the sorted terms, without np.unique's second sort (merges of large
        # blocks run in the decision path: their time is added to some articles' latency).
        first = np.flatnonzero(np.concatenate(([ordered.size > 0], ordered[1:] != ordered[:-1])))
        self.terms = ordered[first]
        self.starts = np.append(first, terms.size).astype(np.int64)
        self.rows = rows[order]
        self.weights = weights[order]
        self.max_norm = max_norm
        self.ids = ids
        self.alive = np.ones(len(ids), dtype=bool)
        self.dead = 0

    @classmethod
    def of(cls, ids: list[str], term_lists: list[Terms]) -> _Block:
        lengths = np.fromiter((len(t) for t in term_lists), dtype=np.int64, count=len(ids))
        total = int(lengths.sum())
        terms = np.fromiter((k for t in term_lists for k in t), dtype=np.uint32, count=total)
        weights = np.fromiter((w for t in term_lists for w in t.values()), np.float64, total)
        rows = np.repeat(np.arange(len(ids), dtype=np.int32), lengths)
        norms = np.sqrt(np.bincount(rows, weights=weights * weights, minlength=len(ids)))
        max_norm = float(norms.max()) if len(ids) else 0.0
        return cls(ids, terms, rows, weights.astype(np.float32), max_norm)

    def postings(
        self,
    ) -> tuple[list[str], npt.NDArray[np.uint32], npt.NDArray[np.int32], npt.NDArray[np.float32]]:
        """The live rows' postings, rows renumbered densely (for merging). Reads one copy of
        the live flags: a merge in a worker thread may run while the window evicts rows."""
        alive = self.alive.copy()
        keep = alive[self.rows]
        renumber = (np.cumsum(alive) - 1).astype(np.int32)
        terms = np.repeat(self.terms, np.diff(self.starts))[keep]
        ids = [i for i, live in zip(self.ids, alive.tolist(), strict=True) if live]
        return ids, terms, renumber[self.rows[keep]], self.weights[keep]

    def live(self) -> int:
        return len(self.ids) - self.dead

    def scores(
        self, terms: npt.NDArray[np.uint32], weights: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.float64]:
        """Dot product of the query with every row of the block (dead rows included)."""
        if self.terms.size == 0:
            return np.zeros(len(self.ids))
        pos = np.searchsorted(self.terms, terms)
        pos[pos == self.terms.size] = 0
        found = self.terms[pos] == terms
        starts = self.starts[pos[found]]
        lengths = self.starts[pos[found] + 1] - starts
        total = int(lengths.sum())
        if total == 0:
            return np.zeros(len(self.ids))
        offsets = np.cumsum(lengths) - lengths
        postings = np.repeat(starts - offsets, lengths) + np.arange(total)
        contributions = self.weights[postings] * np.repeat(weights[found], lengths)
        scores: npt.NDArray[np.float64] = np.bincount(
            self.rows[postings], weights=contributions, minlength=len(self.ids)
        ).astype(np.float64, copy=False)
        return scores


def _merge(older: _Block, newer: _Block) -> _Block:
    ids_a, terms_a, rows_a, weights_a = older.postings()
    ids_b, terms_b, rows_b, weights_b = newer.postings()
    return _Block(
        ids_a + ids_b,
        np.concatenate([terms_a, terms_b]),
        np.concatenate([rows_a, rows_b + np.int32(len(ids_a))]),
        np.concatenate([weights_a, weights_b]),
        max(older.max_norm, newer.max_norm),
    )


@dataclass(frozen=True, slots=True)
class Merge:
    """Two adjacent blocks to merge off the decision path (``LexicalIndex.next_merge``):
    ``run`` is pure numpy over the blocks' postings, safe in a worker thread; ``install``
    (on the thread that owns the index) swaps the result in."""

    older: _Block
    newer: _Block

    def run(self) -> _Block:
        return _merge(self.older, self.newer)


class LexicalIndex:
    """Every article whose TF-IDF cosine with a query may reach a threshold, without misses.

    Why exact and not approximate (LSH, ANN): the lexical gate skips the embedding of an
    article because *no* window article reaches the lexical threshold; a missed candidate
    would change a decision. Postings live in frozen numpy blocks in arrival order, merged
    like a binary counter up to ``BLOCK_ROWS`` articles (so a query visits O(log n + n /
    BLOCK_ROWS) blocks), and eviction, oldest first, empties whole blocks. New articles wait
    in ``pending`` until the next query freezes them, so replaying a 100k log builds blocks
    in bulk, not one article at a time.

    A query leaves out its lowest-weight terms ``L`` (common words, whose postings are the
    longest) while ``||x_L|| <= PRUNE * threshold``: by Cauchy-Schwarz they add at most
    ``||x_L|| * ||y||`` to any cosine, so every article that can reach the threshold scores at
    least ``threshold - ||x_L|| * max ||y||`` on the other terms. That gives a superset of the
    candidates; the caller verifies each with the exact cosine.
    """

    BLOCK_ROWS = 8192
    PRUNE = 0.5
    SLACK = 1e-4  # float32 postings err by ~1e-7 a cosine; the filter only has to be loose

    def __init__(self, *, background_merges: bool = False) -> None:
        self._pending: dict[str, Terms] = {}
        self._blocks: list[_Block] = []
        self._where: dict[str, tuple[_Block, int]] = {}
        self.background_merges = background_merges
        """Queries freeze new articles into blocks but merge none: merges are left to
        ``next_merge``/``install``, which the dedupe stage runs in a worker thread between
        decisions (a merge of thousands of articles' postings takes tens of milliseconds,
        which would otherwise be added to the latency of the articles that wait for it)."""

    def __len__(self) -> int:
        return len(self._pending) + len(self._where)

    def add(self, article_id: str, terms: Terms) -> None:
        if article_id not in self._where:
            self._pending[article_id] = terms

    def remove(self, article_id: str) -> None:
        if self._pending.pop(article_id, None) is not None:
            return
        located = self._where.pop(article_id, None)
        if located is None:
            return
        block, row = located
        block.alive[row] = False
        block.dead += 1
        if block.dead == len(block.ids):
            self._blocks.remove(block)

    def freeze(self, *, merge: bool | None = None) -> None:
        """Build blocks from the pending articles now (a query does it otherwise): after a
        window load, so the first decision does not pay for indexing the whole window.

        ``merge``: merge blocks like a binary counter as they are built (default: unless
        ``background_merges``; the window load always merges)."""
        if not self._pending:
            return
        merging = not self.background_merges if merge is None else merge
        items = list(self._pending.items())
        self._pending.clear()
        for start in range(0, len(items), self.BLOCK_ROWS):
            chunk = items[start : start + self.BLOCK_ROWS]
            self._blocks.append(_Block.of([i for i, _ in chunk], [t for _, t in chunk]))
            while merging and (job := self.next_merge()) is not None:
                self._blocks[-2:] = [job.run()]
            self._locate(self._blocks[-1])  # the new block, or the merge that absorbed it

    def _locate(self, block: _Block) -> None:
        """Point the ids of the block's live rows at it."""
        for row, article_id in enumerate(block.ids):
            if block.alive[row]:
                self._where[article_id] = (block, row)

    def next_merge(self) -> Merge | None:
        """The merge the binary-counter policy calls for next (the newest two blocks, when the
        older holds at most twice the newer's live rows and both fit in one block), if any."""
        if len(self._blocks) < 2:
            return None
        older, newer = self._blocks[-2], self._blocks[-1]
        if older.live() > 2 * newer.live() or older.live() + newer.live() > self.BLOCK_ROWS:
            return None
        return Merge(older, newer)

    def install(self, job: Merge, merged: _Block) -> bool:
        """Swap in a merge computed off the owning thread, where its two blocks still stand
        side by side (newer blocks may have arrived after them meanwhile); dropped if one
        of them was evicted whole. Rows evicted while it ran are marked dead in the merged
        block, so no query can see them again."""
        position = next((i for i, b in enumerate(self._blocks) if b is job.older), None)
        if position is None or position + 1 >= len(self._blocks):
            return False
        if self._blocks[position + 1] is not job.newer:
            return False
        for row, article_id in enumerate(merged.ids):
            located = self._where.get(article_id)
            if located is None or (located[0] is not job.older and located[0] is not job.newer):
                merged.alive[row] = False
                merged.dead += 1
        if merged.dead == len(merged.ids):
            del self._blocks[position : position + 2]
            return True
        self._blocks[position : position + 2] = [merged]
        self._locate(merged)
        return True

    def candidates(self, terms: Terms, threshold: float) -> list[str]:
        """Ids of every article whose cosine with ``terms`` may reach ``threshold``."""
        self.freeze()
        if not terms or not self._blocks:
            return []
        ids = np.fromiter(terms.keys(), dtype=np.uint32, count=len(terms))
        weights = np.fromiter(terms.values(), dtype=np.float64, count=len(terms))
        order = np.argsort(weights, kind="stable")
        squares = np.cumsum(weights[order] ** 2)
        skipped = int(np.searchsorted(squares, (self.PRUNE * threshold) ** 2, side="right"))
        skipped_norm = float(np.sqrt(squares[skipped - 1])) if skipped else 0.0
        kept = np.sort(order[skipped:])
        found: list[str] = []
        for block in self._blocks:
            floor = threshold - skipped_norm * block.max_norm - self.SLACK
            scores = block.scores(ids[kept], weights[kept])
            found.extend(block.ids[r] for r in np.flatnonzero((scores >= floor) & block.alive))
        return found


class StoryIndex:
    """Exact-hash table, LSH buckets, TF-IDF postings, vectors and the article -> story map."""

    def __init__(self, *, bands: int, background_merges: bool = False) -> None:
        self.bands = bands
        self._records: dict[str, Record] = {}
        self._by_sha: dict[str, str] = {}
        self._buckets: dict[bytes, list[str]] = defaultdict(list)
        self._stories: dict[str, list[str]] = defaultdict(list)
        self._tables = {
            MINILM: VectorTable(),
            USE: VectorTable(dim=USE_DIM),
            E5: VectorTable(dim=E5_DIM),
        }
        """Each encoder's embeddings of the records that have one."""
        self._by_language: dict[str, dict[str, None]] = defaultdict(dict)
        """Article ids per language group, in arrival order (insertion-ordered dicts): the
        cross-lingual candidates of an article are the newest of the other groups."""
        self._lexical = LexicalIndex(background_merges=background_merges)
        self._arrival: deque[tuple[int, str]] = deque()
        self.generation = 0
        """Bumped by every add and removal (not by a cached embedding): a plan made at one
        generation is stale at another (``cascade.plan``)."""

    def __len__(self) -> int:
        return len(self._records)

    def __contains__(self, article_id: object) -> bool:
        return article_id in self._records

    def get(self, article_id: str) -> Record | None:
        return self._records.get(article_id)

    def members(self, story_id: str, limit: int | None = None) -> list[str]:
        """The story's articles in this index, in arrival order (the first ``limit``)."""
        return list(islice(self._stories.get(story_id, ()), limit))

    def add(self, record: Record) -> None:
        if record.article_id in self._records:
            return
        features = record.features
        self._records[record.article_id] = record
        self._by_sha.setdefault(features.text_sha256, record.article_id)
        for key in band_keys(features.signature, self.bands):
            self._buckets[key].append(record.article_id)
        self._stories[record.story_id].append(record.article_id)
        for encoder, table in self._tables.items():
            vector = features.embedding(encoder)
            if vector is not None:
                table.add(record.article_id, vector)
        self._by_language[language_group(features.lang)][record.article_id] = None
        if features.terms is not None:
            self._lexical.add(record.article_id, features.terms)
        self._arrival.append((record.seen_ms, record.article_id))
        self.generation += 1

    def file_under(self, article_id: str, story_id: str) -> None:
        """Move an article to ``story_id``: a batch is indexed before it is decided (so later
        articles can match earlier ones), each article filed under its story once decided."""
        record = self._records[article_id]
        if record.story_id == story_id:
            return
        previous = self._stories[record.story_id]
        previous.remove(article_id)
        if not previous:
            del self._stories[record.story_id]
        self._stories[story_id].append(article_id)
        self._records[article_id] = replace(record, story_id=story_id)

    def set_embedding(self, article_id: str, encoder: str, vector: Vector) -> None:
        """Cache a lazily computed ``encoder`` embedding: in its vector table, and in the
        record, whose features are what ``canonical`` and the log see."""
        record = self._records.get(article_id)
        if record is None or record.features.embedding(encoder) is not None:
            return
        self._records[article_id] = replace(
            record, features=record.features.with_embedding(encoder, vector)
        )
        self._tables[encoder].add(article_id, vector)

    def set_vector(self, article_id: str, vector: Vector) -> None:
        """``set_embedding`` of the MiniLM vector."""
        self.set_embedding(article_id, MINILM, vector)

    def other_languages(self, lang: str, limit: int) -> list[Record]:
        """The newest ``limit`` articles of each language group other than ``lang``'s, by id:
        the cross-lingual candidates (no shared vocabulary to gate them; the limit bounds
        the embeddings a language switch in the stream can cost)."""
        own = language_group(lang)
        found: list[str] = []
        for group, ids in self._by_language.items():
            if group != own and ids:
                found.extend(islice(reversed(ids), limit))
        return [self._records[i] for i in sorted(found)]

    def evict_older_than(self, cutoff_ms: int) -> int:
        """Forget articles seen before the window. Records arrive in log (= time) order, so
        the oldest are at the left of the arrival queue: the cost is the number evicted."""
        evicted = 0
        while self._arrival and self._arrival[0][0] < cutoff_ms:
            _, article_id = self._arrival.popleft()
            record = self._records.pop(article_id, None)
            if record is not None:
                self._forget(record)
                evicted += 1
        return evicted

    def _forget(self, record: Record) -> None:
        features = record.features
        if self._by_sha.get(features.text_sha256) == record.article_id:
            del self._by_sha[features.text_sha256]
        for key in band_keys(features.signature, self.bands):
            bucket = self._buckets.get(key)
            if bucket is not None:
                bucket.remove(record.article_id)
                if not bucket:
                    del self._buckets[key]
        story = self._stories.get(record.story_id)
        if story is not None:
            story.remove(record.article_id)
            if not story:
                del self._stories[record.story_id]
        for table in self._tables.values():
            table.remove(record.article_id)
        group = self._by_language.get(language_group(features.lang))
        if group is not None:
            group.pop(record.article_id, None)
            if not group:
                del self._by_language[language_group(features.lang)]
        self._lexical.remove(record.article_id)
        self.generation += 1

    def exact(self, text_sha256: str) -> Record | None:
        article_id = self._by_sha.get(text_sha256)
        return self._records[article_id] if article_id is not None else None

    def nearest(self, features: Features) -> Match | None:
        """The LSH candidate with the highest estimated Jaccard similarity, if any."""
        candidates: set[str] = set()
        for key in band_keys(features.signature, self.bands):
            candidates.update(self._buckets.get(key, ()))
        best: Match | None = None
        for article_id in sorted(candidates):  # sorted: ties resolve the same in every replica
            record = self._records[article_id]
            score = jaccard(features.signature, record.features.signature)
            if best is None or score > best.score:
                best = Match(record, score)
        return best

    def semantic_candidates(self, vector: Vector, threshold: float) -> list[Match]:
        """Articles whose embedding cosine with ``vector`` reaches ``threshold``, by id."""
        found = self._tables[MINILM].above(vector, threshold)
        return [Match(self._records[i], score) for i, score in sorted(found)]

    def freeze(self) -> None:
        """Index what was added so far, merging its blocks (see ``LexicalIndex.freeze``)."""
        self._lexical.freeze(merge=True)

    def next_merge(self) -> Merge | None:
        """The lexical index's next posting-block merge, to run off the decision path."""
        return self._lexical.next_merge()

    def install(self, job: Merge, merged: _Block) -> bool:
        """Swap in a merge computed in a worker thread (``LexicalIndex.install``)."""
        return self._lexical.install(job, merged)

    def lexical_candidates(self, terms: Terms, threshold: float) -> list[Match]:
        """Articles whose TF-IDF cosine with ``terms`` reaches ``threshold``, by id, scored
        with ``lexical_cosine`` (the exact function the decision uses): none is missed."""
        scored: list[tuple[str, float]] = []
        for article_id in sorted(self._lexical.candidates(terms, threshold)):
            window_terms = self._records[article_id].features.terms
            if window_terms is not None:
                score = lexical_cosine(terms, window_terms)
                if score >= threshold - 1e-12:  # a hair loose: a superset is harmless
                    scored.append((article_id, score))
        return [Match(self._records[i], score) for i, score in scored]

    def embedding_cosines(self, encoder: str, vector: Vector, records: list[Record]) -> list[float]:
        """``encoder``-embedding cosines with records that have one in this index."""
        return self._tables[encoder].cosines(vector, [r.article_id for r in records])

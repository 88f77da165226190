"""The dedupe window as an in-memory index, rebuilt from the shared log in Redis. Pure.

Each replica holds the same index because each one applies the same log in the same order
(see ``state.py``); the index is a cache of Redis state, never the source of truth.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from services.dedupe.minhash import Signature, band_keys, jaccard


@dataclass(frozen=True, slots=True)
class Record:
    """What the window remembers of one article."""

    article_id: str
    story_id: str
    text_sha256: str
    signature: Signature
    seen_ms: int


@dataclass(frozen=True, slots=True)
class Match:
    record: Record
    score: float


class StoryIndex:
    """Exact-hash table, LSH band buckets and the article -> story map of the window."""

    def __init__(self, *, bands: int) -> None:
        self.bands = bands
        self._records: dict[str, Record] = {}
        self._by_sha: dict[str, str] = {}
        self._buckets: dict[bytes, list[str]] = defaultdict(list)
        self._stories: dict[str, list[str]] = defaultdict(list)

    def __len__(self) -> int:
        return len(self._records)

    def __contains__(self, article_id: object) -> bool:
        return article_id in self._records

    def get(self, article_id: str) -> Record | None:
        return self._records.get(article_id)

    def members(self, story_id: str) -> list[str]:
        return list(self._stories.get(story_id, ()))

    def add(self, record: Record) -> None:
        if record.article_id in self._records:
            return
        self._records[record.article_id] = record
        self._by_sha.setdefault(record.text_sha256, record.article_id)
        for key in band_keys(record.signature, self.bands):
            self._buckets[key].append(record.article_id)
        self._stories[record.story_id].append(record.article_id)

    def evict_older_than(self, cutoff_ms: int) -> int:
        """Forget articles seen before the window; returns how many were dropped."""
        old = [r for r in self._records.values() if r.seen_ms < cutoff_ms]
        for record in old:
            del self._records[record.article_id]
            if self._by_sha.get(record.text_sha256) == record.article_id:
                del self._by_sha[record.text_sha256]
            for key in band_keys(record.signature, self.bands):
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
        return len(old)

    def exact(self, text_sha256: str) -> Record | None:
        article_id = self._by_sha.get(text_sha256)
        return self._records[article_id] if article_id is not None else None

    def nearest(self, signature: Signature) -> Match | None:
        """The LSH candidate with the highest estimated Jaccard similarity, if any."""
        candidates: set[str] = set()
        for key in band_keys(signature, self.bands):
            candidates.update(self._buckets.get(key, ()))
        best: Match | None = None
        for article_id in sorted(candidates):  # sorted: ties resolve the same in every replica
            record = self._records[article_id]
            score = jaccard(signature, record.signature)
            if best is None or score > best.score:
                best = Match(record, score)
        return best

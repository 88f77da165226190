"""Per-source memory of lines that repeat across a source's articles: boilerplate that no
general rule knows ("Kyiv Post is an independent outlet ...", a site's own slogan).

A line is boilerplate for a source once it has appeared in ``min_articles`` distinct articles
of that source. Only short paragraphs are remembered: long ones are stories, and a source
that reuses a background paragraph in follow-ups must keep it (that is content). Lines are
remembered by a 64-bit hash of their fingerprint, so memory stays small and two spellings of
one line count together.

The algorithm only needs counts, so state sits behind :class:`LineCounts`: in memory for tests
and single processes, and in Redis for replicas (layout below). An article must be counted
once: in Redis the increments belong in the same atomic commit that ingest's replay guard
protects, so a redelivered message cannot count twice.

Redis layout (proposed, not wired: the handler would call ``keys``/``judge`` around one
``HMGET`` and do the ``HINCRBY`` in the same MULTI as the output XADD):
``{prefix}boiler:{source}:{yyyymmdd}`` hashes, field = line key, value = article count, with
``EXPIRE`` of the window; a read sums the window's day buckets. Bounded by the window and by
``max_keys_per_article``.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from services.ingest.text import fingerprint

__all__ = ["BoilerplateMemory", "InMemoryLineCounts", "LineCounts"]


class LineCounts(Protocol):
    """How many distinct articles of a source contained each line key."""

    def get(self, source: str, keys: Sequence[str]) -> list[int]: ...

    def add(self, source: str, keys: Sequence[str]) -> None: ...


class InMemoryLineCounts:
    """Bounded in-process store: least recently seen lines are forgotten first."""

    def __init__(self, *, max_lines_per_source: int = 50_000) -> None:
        self._max = max_lines_per_source
        self._counts: dict[str, OrderedDict[str, int]] = {}

    def get(self, source: str, keys: Sequence[str]) -> list[int]:
        counts = self._counts.get(source, OrderedDict())
        return [counts.get(key, 0) for key in keys]

    def add(self, source: str, keys: Sequence[str]) -> None:
        counts = self._counts.setdefault(source, OrderedDict())
        for key in keys:
            counts[key] = counts.get(key, 0) + 1
            counts.move_to_end(key)
        while len(counts) > self._max:
            counts.popitem(last=False)


@dataclass(slots=True)
class BoilerplateMemory:
    store: LineCounts
    min_articles: int = 4
    """Seen in this many earlier articles of the source: boilerplate. Four, so that a
    recurring caption in a short series is not mistaken for the site's chrome too early."""
    max_words: int = 25
    max_keys_per_article: int = 200

    def keys(self, paragraphs: Sequence[str]) -> list[str | None]:
        """A key per paragraph, None for paragraphs too long to be boilerplate."""
        result: list[str | None] = []
        for paragraph in paragraphs:
            if len(paragraph.split()) > self.max_words:
                result.append(None)
                continue
            digest = hashlib.blake2b(fingerprint(paragraph).encode(), digest_size=8)
            result.append(digest.hexdigest())
        return result

    def judge(self, keys: Sequence[str | None], counts: Mapping[str, int]) -> list[bool]:
        """True where a paragraph is the source's boilerplate, given the stored counts."""
        return [key is not None and counts.get(key, 0) >= self.min_articles for key in keys]

    def observe(self, source: str, paragraphs: Sequence[str]) -> list[bool]:
        """Judge an article's paragraphs against the source's history, then add it to it.

        Each line counts once per article, so a line repeated inside one page is not
        boilerplate by itself.
        """
        keys = self.keys(paragraphs)
        present = list(dict.fromkeys(k for k in keys if k is not None))
        present = present[: self.max_keys_per_article]
        counts = dict(zip(present, self.store.get(source, present), strict=True))
        self.store.add(source, present)
        return self.judge(keys, counts)

"""What the store returns: plain rows, independent of the database that holds them.

The read side (API, CLI, demo) depends on these and on :class:`~services.store.base.Store`
only, so it never learns which backend is behind a ``DATABASE_URL``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StoredArticle:
    """One article and its dedupe verdict (method, score, duplicate_of) as last delivered."""

    id: str
    story_id: str
    source: str
    url: str
    title: str
    lang: str
    published_at: str | None
    received_at: str
    word_count: int
    method: str
    score: float
    duplicate_of: str | None
    # the wire item's metadata (article.v2); None for articles that arrived as v1
    guid: str | None = None
    version: str | None = None
    pub_status: str | None = None
    language: str | None = None
    version_created: str | None = None
    embargoed: str | None = None
    urgency: int | None = None
    byline: str | None = None
    located: str | None = None
    provider: str | None = None
    format: str | None = None
    subjects: list[dict[str, str | None]] | None = None


@dataclass(frozen=True, slots=True)
class Story:
    """A story row: its canonical article and aggregates over its members."""

    story_id: str
    canonical_id: str
    canonical_title: str
    size: int
    sources: list[str]
    first_seen: str
    last_seen: str


@dataclass(frozen=True, slots=True)
class StoryQuery:
    """Filters of a story listing; ``None`` means "no filter".

    Time bounds select the stories *active* in ``[since, until)``: seen at or after ``since``
    (``last_seen >= since``) and first seen before ``until`` (``first_seen < until``). Bounds
    are ISO-8601 strings in UTC (see :func:`services.store.timefmt.iso`), which compare
    correctly as text.
    """

    since: str | None = None
    until: str | None = None
    source: str | None = None
    lang: str | None = None
    min_size: int | None = None
    limit: int = 50
    offset: int = 0

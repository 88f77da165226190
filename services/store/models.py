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
    # the item's lifecycle (services.store.lifecycle): live, superseded, killed or withheld;
    # whether this is the item's current version; what its entry did (annotated.v2 change)
    status: str = "live"
    current: bool = True
    change: str | None = None
    supersedes: str | None = None


@dataclass(frozen=True, slots=True)
class Story:
    """A story row: its canonical article and aggregates over its live members."""

    story_id: str
    canonical_id: str
    canonical_title: str
    size: int
    sources: list[str]
    first_seen: str
    last_seen: str
    status: str = "live"  # live, killed or withheld (services.store.lifecycle)
    revision: int | None = None  # the latest story revision the store knows, None without


@dataclass(frozen=True, slots=True)
class ArticleVersion:
    """One version of an item (``source`` + ``guid``), for an article's version history."""

    id: str
    version: str | None
    status: str
    current: bool
    received_at: str
    story_id: str
    change: str | None
    supersedes: str | None


@dataclass(frozen=True, slots=True)
class StoryRevision:
    """One story event as the annotated entry that caused it reported it (story.v1)."""

    story_id: str
    revision: int
    event: str
    members: int | None
    canonical_id: str
    cause_id: str
    cause_change: str
    at: str


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
    status: str | None = "live"  # killed and withheld stories are left out; None: every story
    limit: int = 50
    offset: int = 0

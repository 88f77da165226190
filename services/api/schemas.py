"""The API's response documents: what /openapi.json publishes and clients may rely on."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from services.store.models import ArticleVersion, StoredArticle, Story, StoryRevision


class StoryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # built from the store's row dataclasses

    story_id: str
    canonical_id: str = Field(
        description="the article that represents the story: always a live member while the "
        "story is live; a killed story keeps its last canonical"
    )
    canonical_title: str
    size: int = Field(description="number of live member articles")
    sources: list[str]
    first_seen: str = Field(description="earliest received_at of a member, ISO-8601 UTC")
    last_seen: str = Field(description="latest received_at of a member, ISO-8601 UTC")
    status: str = Field(
        default="live",
        description="live, killed (its last event was 'killed', or no member is left) or "
        "withheld (its only members are withheld); only live stories are listed in /stories",
    )
    revision: int | None = Field(
        default=None, description="the latest story.v1 revision the store has, null without"
    )

    @classmethod
    def of(cls, story: Story) -> StoryOut:
        return cls.model_validate(story)


class ArticleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    story_id: str
    source: str
    url: str
    title: str
    lang: str
    published_at: str | None
    received_at: str
    word_count: int
    method: str = Field(description="new, exact, near or semantic")
    score: float = Field(description="similarity to duplicate_of in [0, 1]; 1.0 for new")
    duplicate_of: str | None
    guid: str | None = Field(
        default=None, description="the provider's item identity, stable across versions"
    )
    version: str | None = Field(default=None, description="the provider's version of the item")
    pub_status: str | None = Field(default=None, description="usable, withheld or canceled")
    language: str | None = Field(default=None, description="the provider's language tag")
    version_created: str | None = None
    embargoed: str | None = None
    urgency: int | None = None
    byline: str | None = None
    located: str | None = None
    provider: str | None = None
    format: str | None = Field(default=None, description="e.g. ninjs-3.0, newsml-g2, rss, atom")
    subjects: list[dict[str, str | None]] | None = Field(
        default=None, description="[{code, name}], IPTC Media Topic codes as medtop:NNNNNNNN"
    )
    status: str = Field(
        default="live",
        description="live, superseded (a later version replaced it), killed (the item was "
        "withdrawn: never to be published) or withheld (hidden until a later version)",
    )
    current: bool = Field(default=True, description="this is its item's current version")
    change: str | None = Field(
        default=None, description="what its entry did: added, updated, killed or withheld"
    )
    supersedes: str | None = Field(default=None, description="the version this one replaced")

    @classmethod
    def of(cls, article: StoredArticle) -> ArticleOut:
        return cls.model_validate(article)


class VersionOut(BaseModel):
    """One version of an item (``source`` + ``guid``; each version is its own article)."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    version: str | None = Field(description="the provider's version, null if it gave none")
    status: str = Field(description="live, superseded, killed or withheld")
    current: bool = Field(description="the item's current version")
    received_at: str
    story_id: str
    change: str | None = Field(description="added, updated, killed or withheld; null for v1")
    supersedes: str | None

    @classmethod
    def of(cls, version: ArticleVersion) -> VersionOut:
        return cls.model_validate(version)


class RevisionOut(BaseModel):
    """One story.v1 event as the store recorded it from the annotated entry that caused it."""

    model_config = ConfigDict(from_attributes=True)

    revision: int = Field(description="+1 per event of the story, from 1 at 'created'")
    event: str = Field(description="created, updated or killed")
    members: int | None = Field(description="live members after the event")
    canonical_id: str = Field(description="the canonical after the event (the last one if killed)")
    cause_id: str = Field(description="the article whose entry caused the event")
    cause_change: str = Field(description="added, updated, killed or withheld")
    at: str = Field(description="when dedupe decided it (its entry's time), ISO-8601 UTC")

    @classmethod
    def of(cls, revision: StoryRevision) -> RevisionOut:
        return cls.model_validate(revision)


class ArticleDetail(ArticleOut):
    text: str
    is_canonical: bool
    versions: list[VersionOut] = Field(
        default_factory=list,
        description="every stored version of the item, in stream order (itself only without "
        "a guid)",
    )


class StoryDetail(StoryOut):
    members: list[ArticleOut] = Field(
        description="the live members in stream order; the first opened the story"
    )
    history: list[ArticleOut] = Field(
        default_factory=list,
        description="articles filed under the story that are no longer live members: "
        "superseded versions, killed and withheld items, with their status",
    )
    revisions: list[RevisionOut] = Field(
        default_factory=list, description="the story's revision history, oldest first"
    )


class StoryPage(BaseModel):
    items: list[StoryOut]
    total: int = Field(description="stories matching the filters, over all pages")
    limit: int
    offset: int
    next_offset: int | None = Field(description="offset of the next page, null on the last")


class Health(BaseModel):
    status: str
    schema_version: int | None = None
    backend: str | None = None

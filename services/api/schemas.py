"""The API's response documents: what /openapi.json publishes and clients may rely on."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from services.store.models import StoredArticle, Story


class StoryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # built from the store's row dataclasses

    story_id: str
    canonical_id: str = Field(description="the article that represents the story")
    canonical_title: str
    size: int = Field(description="number of member articles")
    sources: list[str]
    first_seen: str = Field(description="earliest received_at of a member, ISO-8601 UTC")
    last_seen: str = Field(description="latest received_at of a member, ISO-8601 UTC")

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

    @classmethod
    def of(cls, article: StoredArticle) -> ArticleOut:
        return cls.model_validate(article)


class ArticleDetail(ArticleOut):
    text: str
    is_canonical: bool


class StoryDetail(StoryOut):
    members: list[ArticleOut] = Field(description="in stream order; the first opened the story")


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

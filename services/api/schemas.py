"""The API's response documents: what /openapi.json publishes and clients may rely on."""

from __future__ import annotations

from pydantic import BaseModel, Field

from services.store.models import StoredArticle, Story


class StoryOut(BaseModel):
    story_id: str
    canonical_id: str = Field(description="the article that represents the story")
    canonical_title: str
    size: int = Field(description="number of member articles")
    sources: list[str]
    first_seen: str = Field(description="earliest received_at of a member, ISO-8601 UTC")
    last_seen: str = Field(description="latest received_at of a member, ISO-8601 UTC")

    @classmethod
    def of(cls, story: Story) -> StoryOut:
        return cls(
            story_id=story.story_id,
            canonical_id=story.canonical_id,
            canonical_title=story.canonical_title,
            size=story.size,
            sources=story.sources,
            first_seen=story.first_seen,
            last_seen=story.last_seen,
        )


class ArticleOut(BaseModel):
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

    @classmethod
    def of(cls, article: StoredArticle) -> ArticleOut:
        return cls(
            id=article.id,
            story_id=article.story_id,
            source=article.source,
            url=article.url,
            title=article.title,
            lang=article.lang,
            published_at=article.published_at,
            received_at=article.received_at,
            word_count=article.word_count,
            method=article.method,
            score=article.score,
            duplicate_of=article.duplicate_of,
        )


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

"""The read API: stories, one story with its members, one article, health and readiness.

Read-only by construction: it holds a :class:`~services.store.base.Store` and calls only its
read methods; it never migrates (the store service owns the schema), so ``/readyz`` stays 503
until the store service has created the tables. Handlers are plain ``def`` so FastAPI runs the
blocking database calls in its thread pool.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import FastAPI, HTTPException, Query
from fastapi.responses import JSONResponse

from services.api.guards import (
    MAX_MIN_SIZE,
    MAX_OFFSET,
    RequestLineLimit,
    check_time,
    quoted,
)
from services.api.metrics import instrument
from services.api.schemas import (
    ArticleDetail,
    ArticleOut,
    Health,
    StoryDetail,
    StoryOut,
    StoryPage,
)
from services.store.base import LATEST_VERSION, Store
from services.store.models import StoryQuery
from services.store.timefmt import iso


def create_app(store: Store, *, max_page: int = 500) -> FastAPI:
    app = FastAPI(
        title="wiredesk read API",
        version="1",
        description="Stories and articles stored by the wiredesk pipeline (read-only).",
    )
    app.add_middleware(RequestLineLimit)

    @app.get("/healthz", response_model=Health, tags=["ops"])
    def healthz() -> Health:
        """The process is up (liveness); says nothing about the database."""
        return Health(status="ok")

    @app.get("/readyz", response_model=Health, tags=["ops"], responses={503: {"model": Health}})
    def readyz() -> Health | JSONResponse:
        """The database answers and its schema is the one this code reads."""
        version = store.schema_version() if store.ping() else None
        body = Health(status="ok", schema_version=version, backend=store.dialect)
        if version != LATEST_VERSION:
            body.status = "unavailable"
            return JSONResponse(body.model_dump(), status_code=503)
        return body

    @app.get("/stories", response_model=StoryPage, tags=["stories"])
    def list_stories(
        *,
        since: Annotated[
            datetime | None, Query(description="stories seen at or after this time")
        ] = None,
        until: Annotated[
            datetime | None, Query(description="stories first seen before this time")
        ] = None,
        source: Annotated[str | None, Query(description="with a member from this source")] = None,
        lang: Annotated[str | None, Query(description="with a member in this language")] = None,
        min_size: Annotated[
            int | None, Query(ge=1, le=MAX_MIN_SIZE, description="at least this many")
        ] = None,
        limit: Annotated[int, Query(ge=1)] = 50,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    ) -> StoryPage:
        """Stories, most recently active first (``last_seen`` descending), paginated."""
        if limit > max_page:
            raise HTTPException(422, f"limit must be at most {max_page}")
        since, until = check_time("since", since), check_time("until", until)
        query = StoryQuery(
            since=iso(since) if since else None,
            until=iso(until) if until else None,
            source=source,
            lang=lang,
            min_size=min_size,
            limit=limit,
            offset=offset,
        )
        items = [StoryOut.of(s) for s in store.stories(query)]
        total = store.count_stories(query)
        next_offset = offset + len(items) if offset + len(items) < total else None
        return StoryPage(
            items=items, total=total, limit=limit, offset=offset, next_offset=next_offset
        )

    @app.get("/stories/{story_id:path}", response_model=StoryDetail, tags=["stories"])
    def get_story(story_id: str) -> StoryDetail:
        """One story with its members and each member's verdict (method, score)."""
        story = store.story(story_id)
        if story is None:
            raise HTTPException(404, f"no story {quoted(story_id)}")
        members = [ArticleOut.of(m) for m in store.members(story_id)]
        return StoryDetail(**StoryOut.of(story).model_dump(), members=members)

    @app.get("/articles/{article_id:path}", response_model=ArticleDetail, tags=["articles"])
    def get_article(article_id: str) -> ArticleDetail:
        """One article: metadata, verdict and clean text."""
        article = store.article(article_id)
        text = store.article_text(article_id)
        if article is None or text is None:
            raise HTTPException(404, f"no article {quoted(article_id)}")
        story = store.story(article.story_id)
        return ArticleDetail(
            **ArticleOut.of(article).model_dump(),
            text=text,
            is_canonical=story is not None and story.canonical_id == article.id,
        )

    instrument(app, ready=lambda: store.ping() and store.schema_version() == LATEST_VERSION)
    return app

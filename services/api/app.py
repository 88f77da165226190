"""The read API: stories, one story with its members, one article, health and readiness.

An article shows its status and its item's versions (``/articles/{id}``, ``/articles/{id}/
versions``); a story its status and revision history (``/stories/{id}``, ``/stories/{id}/
revisions``). Ids may contain ``/``, so a ``.../versions`` or ``.../revisions`` path whose prefix
is not a known id but whose whole is (an id ending in that word) is answered as the plain path.

Read-only by construction: it holds a :class:`~services.store.base.Store` and calls only its
read methods; it never migrates (the store service owns the schema), so ``/readyz`` stays 503
until the store service has created the tables. Handlers are plain ``def`` so FastAPI runs the
blocking database calls in its thread pool.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

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
    RevisionOut,
    StoryDetail,
    StoryOut,
    StoryPage,
    VersionOut,
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
        status: Annotated[
            Literal["live", "killed", "withheld"],
            Query(description="live (the default), or the killed or withheld stories"),
        ] = "live",
        limit: Annotated[int, Query(ge=1)] = 50,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    ) -> StoryPage:
        """Stories, most recently active first (``last_seen`` descending), paginated; killed
        and withheld stories only when ``status`` asks for them."""
        if limit > max_page:
            raise HTTPException(422, f"limit must be at most {max_page}")
        since, until = check_time("since", since), check_time("until", until)
        query = StoryQuery(
            since=iso(since) if since else None,
            until=iso(until) if until else None,
            source=source,
            lang=lang,
            min_size=min_size,
            status=status,
            limit=limit,
            offset=offset,
        )
        items = [StoryOut.of(s) for s in store.stories(query)]  # live stories only
        total = store.count_stories(query)
        next_offset = offset + len(items) if offset + len(items) < total else None
        return StoryPage(
            items=items, total=total, limit=limit, offset=offset, next_offset=next_offset
        )

    def story_detail(story_id: str) -> StoryDetail:
        story = store.story(story_id)
        if story is None:
            raise HTTPException(404, f"no story {quoted(story_id)}")
        filed = [ArticleOut.of(m) for m in store.members(story_id)]
        return StoryDetail(
            **StoryOut.of(story).model_dump(),
            members=[m for m in filed if m.status == "live"],
            history=[m for m in filed if m.status != "live"],
            revisions=[RevisionOut.of(r) for r in store.revisions(story_id)],
        )

    def article_detail(article_id: str) -> ArticleDetail:
        article = store.article(article_id)
        text = store.article_text(article_id)
        if article is None or text is None:
            raise HTTPException(404, f"no article {quoted(article_id)}")
        story = store.story(article.story_id)
        return ArticleDetail(
            **ArticleOut.of(article).model_dump(),
            text=text,
            is_canonical=story is not None and story.canonical_id == article.id,
            versions=[VersionOut.of(v) for v in store.versions(article_id)],
        )

    @app.get(
        "/stories/{story_id:path}/revisions",
        response_model=list[RevisionOut],
        tags=["stories"],
    )
    def get_revisions(story_id: str) -> list[RevisionOut] | JSONResponse:
        """A story's revision history, oldest first (one entry per story.v1 event)."""
        if store.story(story_id) is None:
            if store.story(f"{story_id}/revisions") is not None:  # the id ends in /revisions
                return JSONResponse(story_detail(f"{story_id}/revisions").model_dump())
            raise HTTPException(404, f"no story {quoted(story_id)}")
        return [RevisionOut.of(r) for r in store.revisions(story_id)]

    @app.get("/stories/{story_id:path}", response_model=StoryDetail, tags=["stories"])
    def get_story(story_id: str) -> StoryDetail:
        """One story, also a killed one: status, live members with their verdict (method,
        score), the articles no longer live (history) and the revision history."""
        return story_detail(story_id)

    @app.get(
        "/articles/{article_id:path}/versions",
        response_model=list[VersionOut],
        tags=["articles"],
    )
    def get_versions(article_id: str) -> list[VersionOut] | JSONResponse:
        """Every stored version of the article's item, in stream order, with its status."""
        versions = store.versions(article_id)
        if not versions:
            if store.article(f"{article_id}/versions") is not None:  # the id ends in /versions
                return JSONResponse(article_detail(f"{article_id}/versions").model_dump())
            raise HTTPException(404, f"no article {quoted(article_id)}")
        return [VersionOut.of(v) for v in versions]

    @app.get("/articles/{article_id:path}", response_model=ArticleDetail, tags=["articles"])
    def get_article(article_id: str) -> ArticleDetail:
        """One article: metadata, verdict, status, clean text and its item's versions."""
        return article_detail(article_id)

    instrument(app, ready=lambda: store.ping() and store.schema_version() == LATEST_VERSION)
    return app

"""The SQLite store: migrations, idempotent upserts, story rows kept current."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.store.base import LATEST_VERSION
from services.store.sqlite import SqliteStore
from services.store.timefmt import sortable_entry_id
from wiredesk.messages import AnnotatedArticle, Method


def annotated(
    article_id: str,
    story: str,
    *,
    canonical: str | None = None,
    source: str = "s",
    minutes: int = 0,
    method: Method = Method.NEW,
) -> AnnotatedArticle:
    return AnnotatedArticle(
        id=article_id,
        source=source,
        url=f"u/{article_id}",
        received_at=datetime(2024, 12, 15, tzinfo=UTC) + timedelta(minutes=minutes),
        title=f"title {article_id}",
        lang="en",
        text="text",
        text_sha256="0" * 64,
        word_count=1,
        story_id=story,
        duplicate_of=None if method == Method.NEW else story,
        method=method,
        score=1.0,
        canonical_id=canonical or story,
    )


@pytest.fixture
def store(tmp_path: Path) -> SqliteStore:
    db = SqliteStore(tmp_path / "w.db")
    db.migrate()
    return db


def test_migrations_are_idempotent(store: SqliteStore) -> None:
    assert store.migrate() == store.migrate() == LATEST_VERSION == 3


def test_upserting_the_same_batch_twice_stores_each_article_once(store: SqliteStore) -> None:
    rows = [
        ("1-0", annotated("a", "a")),
        ("2-0", annotated("b", "a", method=Method.NEAR, minutes=5)),
    ]
    store.upsert(rows)
    store.upsert(rows)
    assert store.count_articles() == 2
    (story,) = store.stories()
    assert (story.size, story.canonical_id, story.canonical_title) == (2, "a", "title a")
    assert story.first_seen < story.last_seen


def test_story_lists_distinct_sources_and_members_in_stream_order(store: SqliteStore) -> None:
    store.upsert([("5-0", annotated("b", "a", source="y", method=Method.NEAR))])
    store.upsert([("3-0", annotated("a", "a", source="x"))])
    story = store.story("a")
    assert story is not None and story.sources == ["x", "y"]
    assert [m.id for m in store.members("a")] == ["a", "b"]


def test_a_newer_canonical_replaces_the_old_one_but_an_older_message_does_not(
    store: SqliteStore,
) -> None:
    store.upsert([("1-0", annotated("a", "a"))])
    store.upsert([("9-0", annotated("b", "a", canonical="b", method=Method.NEAR))])
    store.upsert([("1-0", annotated("a", "a"))])  # redelivered old message
    story = store.story("a")
    assert story is not None and (story.canonical_id, story.canonical_title) == ("b", "title b")


def test_stream_ids_sort_numerically_as_text() -> None:
    assert sortable_entry_id("9-0") < sortable_entry_id("10-0")
    assert sortable_entry_id("10-2") < sortable_entry_id("10-10")


def test_a_non_sqlite_url_is_refused() -> None:
    with pytest.raises(ValueError, match="not a sqlite URL"):
        SqliteStore.from_url("postgresql://x/y")

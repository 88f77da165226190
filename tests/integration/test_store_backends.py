"""The store's behaviour, proved on every backend (SQLite and a real PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from services.store.base import LATEST_VERSION, Store
from services.store.db import open_store
from services.store.models import StoryQuery
from tests.pg import backend_url, pg_server_url, pg_url  # noqa: F401
from wiredesk.messages import AnnotatedArticle, Method

pytestmark = pytest.mark.integration

T0 = datetime(2024, 12, 15, tzinfo=UTC)


def annotated(
    article_id: str,
    story: str,
    *,
    canonical: str | None = None,
    source: str = "s",
    lang: str = "en",
    minutes: int = 0,
    method: Method = Method.NEW,
    score: float = 1.0,
) -> AnnotatedArticle:
    return AnnotatedArticle(
        id=article_id,
        source=source,
        url=f"u/{article_id}",
        received_at=T0 + timedelta(minutes=minutes),
        title=f"title {article_id}",
        lang=lang,
        text=f"text of {article_id}",
        text_sha256="0" * 64,
        word_count=3,
        story_id=story,
        duplicate_of=None if method == Method.NEW else story,
        method=method,
        score=score,
        canonical_id=canonical or story,
    )


@pytest.fixture
def store(backend_url: str) -> Iterator[Store]:  # noqa: F811
    db = open_store(backend_url)
    db.migrate()
    yield db
    db.close()


def test_the_url_chooses_the_backend(store: Store, backend_url: str) -> None:  # noqa: F811
    assert store.dialect == backend_url.split(":", 1)[0]


def test_migrations_are_idempotent_and_report_the_version(store: Store) -> None:
    assert store.migrate() == store.migrate() == LATEST_VERSION
    assert store.schema_version() == LATEST_VERSION
    assert store.ping()


def test_upserting_the_same_batch_twice_stores_each_article_once(store: Store) -> None:
    rows = [
        ("1-0", annotated("a", "a")),
        ("2-0", annotated("b", "a", method=Method.NEAR, minutes=5, score=0.8)),
    ]
    store.upsert(rows)
    store.upsert(rows)
    assert store.count_articles() == 2
    (story,) = store.stories()
    assert (story.size, story.canonical_id, story.canonical_title) == (2, "a", "title a")
    assert story.first_seen < story.last_seen


def test_article_rows_keep_the_verdict_and_the_text(store: Store) -> None:
    store.upsert(
        [("1-0", annotated("a", "a")), ("2-0", annotated("b", "a", method=Method.NEAR, score=0.75))]
    )
    b = store.article("b")
    assert b is not None
    assert (b.story_id, b.method, b.score, b.duplicate_of) == ("a", "near", 0.75, "a")
    assert store.article_text("b") == "text of b"
    assert store.article("nope") is None and store.article_text("nope") is None


def test_stored_at_says_when_each_stored_article_was_written(store: Store) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    store.upsert([("1-0", annotated("a", "a")), ("2-0", annotated("b", "a", method=Method.NEAR))])
    after = datetime.now(UTC) + timedelta(seconds=1)
    many = [f"missing-{i}" for i in range(1200)]  # more ids than one IN list takes
    stored = store.stored_at(["a", "a", "nope", *many, "b"])
    assert set(stored) == {"a", "b"}  # an id not stored is absent
    assert all(before <= datetime.fromisoformat(at) <= after for at in stored.values())
    assert store.stored_at([]) == {}


def test_story_lists_distinct_sources_and_members_in_stream_order(store: Store) -> None:
    store.upsert([("5-0", annotated("b", "a", source="y", method=Method.NEAR))])
    store.upsert([("3-0", annotated("a", "a", source="x"))])
    store.upsert([("7-0", annotated("c", "a", source="x", method=Method.EXACT))])
    story = store.story("a")
    assert story is not None and story.sources == ["x", "y"] and story.size == 3
    assert [m.id for m in store.members("a")] == ["a", "b", "c"]
    assert store.story("missing") is None and store.members("missing") == []


def test_a_newer_canonical_replaces_the_old_one_but_an_older_message_does_not(
    store: Store,
) -> None:
    store.upsert([("1-0", annotated("a", "a"))])
    store.upsert([("9-0", annotated("b", "a", canonical="b", method=Method.NEAR))])
    store.upsert([("1-0", annotated("a", "a"))])  # redelivered old message
    story = store.story("a")
    assert story is not None and (story.canonical_id, story.canonical_title) == ("b", "title b")


def test_a_canonical_stored_after_its_story_still_gets_its_title(store: Store) -> None:
    store.upsert([("2-0", annotated("b", "s", canonical="a", method=Method.NEAR))])
    assert store.story("s") is not None
    store.upsert([("3-0", annotated("a", "s", canonical="a", method=Method.NEAR))])
    story = store.story("s")
    assert story is not None and story.canonical_title == "title a"


def test_an_article_moved_to_another_story_leaves_its_old_story_consistent(store: Store) -> None:
    store.upsert([("1-0", annotated("a", "a")), ("2-0", annotated("b", "b", minutes=1))])
    store.upsert([("3-0", annotated("b", "a", method=Method.NEAR, minutes=1))])  # merged
    merged = store.story("a")
    assert merged is not None and merged.size == 2
    assert store.story("b") is None  # emptied by the merge
    assert store.count_stories() == 1


def test_an_older_verdict_never_overwrites_a_newer_one(store: Store) -> None:
    store.upsert([("5-0", annotated("b", "a", method=Method.NEAR, score=0.9))])
    store.upsert([("4-0", annotated("b", "z", method=Method.NEW))])
    b = store.article("b")
    assert b is not None and (b.story_id, b.method) == ("a", "near")


def test_stories_are_newest_first_paginated_and_filtered(store: Store) -> None:
    store.upsert(
        [
            ("1-0", annotated("a", "a", source="wire", minutes=0)),
            ("2-0", annotated("b", "b", source="blog", lang="de", minutes=10)),
            ("3-0", annotated("c", "c", source="wire", minutes=20)),
            ("4-0", annotated("c2", "c", source="blog", method=Method.NEAR, minutes=30)),
        ]
    )
    assert [s.story_id for s in store.stories()] == ["c", "b", "a"]
    assert [s.story_id for s in store.stories(StoryQuery(limit=2, offset=1))] == ["b", "a"]

    def ids(**filters: object) -> list[str]:
        return [s.story_id for s in store.stories(StoryQuery(**filters))]  # type: ignore[arg-type]

    minutes = [(T0 + timedelta(minutes=m)).isoformat() for m in (5, 15)]
    assert ids(source="blog") == ["c", "b"]
    assert ids(lang="de") == ["b"]
    assert ids(min_size=2) == ["c"]
    assert ids(since=minutes[0]) == ["c", "b"]
    assert ids(until=minutes[0]) == ["a"]
    assert ids(since=minutes[0], until=minutes[1]) == ["b"]
    assert store.count_stories(StoryQuery(source="blog")) == 2


def test_concurrent_writers_of_one_story_leave_a_correct_size(
    store: Store,
    backend_url: str,  # noqa: F811
) -> None:
    """Two store replicas writing members of the same story at once (the PostgreSQL case)."""
    writers = [open_store(backend_url) for _ in range(4)]
    batches = [
        [
            (f"{w * 100 + i + 1}-0", annotated(f"a{w}-{i}", "s", method=Method.NEAR))
            for i in range(25)
        ]
        for w in range(4)
    ]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda wb: wb[0].upsert(wb[1]), zip(writers, batches, strict=True)))
    for writer in writers:
        writer.close()
    story = store.story("s")
    assert story is not None and story.size == 100 == store.count_articles()


def test_an_unknown_database_url_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported DATABASE_URL"):
        open_store("mysql://x/y")


def test_v2_item_metadata_is_stored_and_read_back_on_both_backends(store: Store) -> None:
    from services.api.schemas import ArticleOut
    from wiredesk.messages import AnnotatedArticleV2, Subject

    v1 = annotated("plain", "plain")
    v2 = AnnotatedArticleV2(
        **annotated("wire", "wire").model_dump(exclude={"schema_version"}),
        guid="urn:newsml:dpa.com:1",
        version="2",
        version_created=T0,
        pub_status="withheld",
        embargoed=T0 + timedelta(hours=2),
        urgency=3,
        language="de-DE",
        byline="Von A. Autor, dpa",
        located="Berlin",
        subjects=[Subject(code="medtop:15000000", name="Sport")],
        provider="dpa",
        format="ninjs-3.0",
    )
    store.upsert([("1-0", v1), ("2-0", v2)])
    store.upsert([("2-0", v2)])  # redelivered: the same row
    plain = store.article("plain")
    wire = store.article("wire")
    assert plain is not None
    assert wire is not None
    assert (plain.guid, plain.version, plain.pub_status) == (None, None, None)
    assert (wire.guid, wire.version, wire.pub_status, wire.language) == (
        "urn:newsml:dpa.com:1",
        "2",
        "withheld",
        "de-DE",
    )
    assert wire.embargoed == "2024-12-15T02:00:00+00:00"
    assert wire.urgency == 3
    assert wire.subjects == [{"code": "medtop:15000000", "name": "Sport"}]
    out = ArticleOut.of(wire).model_dump()
    assert out["guid"] == "urn:newsml:dpa.com:1"
    assert out["format"] == "ninjs-3.0"

"""Versions, kills, withholds and story revisions in the store, on SQLite and PostgreSQL.

The entries are the hand-built annotated.v2 run of tests/lifecycle.py; each step is checked
as it is stored, then the same entries redelivered and replayed in other orders must leave
exactly the same store.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from services.store.base import LATEST_VERSION, Store
from services.store.db import open_store
from services.store.models import StoryQuery
from services.store.schema import MIGRATIONS
from tests.lifecycle import SCENARIO, T0, snapshot, wire
from tests.pg import backend_url, pg_server_url, pg_url  # noqa: F401

pytestmark = pytest.mark.integration


@pytest.fixture
def store(backend_url: str) -> Iterator[Store]:  # noqa: F811
    db = open_store(backend_url)
    db.migrate()
    yield db
    db.close()


def statuses(store: Store, story_id: str) -> dict[str, tuple[str, bool]]:
    return {m.id: (m.status, m.current) for m in store.members(story_id)}


def step(store: Store, upto: int) -> None:
    """Store the scenario's entries up to (and including) number ``upto`` (1-based)."""
    store.upsert(SCENARIO[:upto])


def test_a_new_version_supersedes_the_old_one_and_becomes_canonical(store: Store) -> None:
    step(store, 2)
    story = store.story("r1")
    assert story is not None
    assert (story.size, story.canonical_id, story.status, story.revision) == (2, "r1", "live", 2)
    store.upsert(SCENARIO[2:3])  # r v2 replaces r v1
    assert statuses(store, "r1") == {
        "r1": ("superseded", False),
        "p1": ("live", True),
        "r2": ("live", True),
    }
    story = store.story("r1")
    assert story is not None
    assert (story.size, story.canonical_id, story.canonical_title, story.revision) == (
        2,
        "r2",
        "reuters urn:reuters:r v2",
        3,
    )
    versions = store.versions("r1")
    assert [(v.id, v.version, v.status, v.current) for v in versions] == [
        ("r1", "1", "superseded", False),
        ("r2", "2", "live", True),
    ]
    assert store.versions("r2") == versions  # the same item, asked from either version
    assert [v.id for v in store.versions("p1")] == ["p1"]
    assert store.versions("nope") == []


def test_killing_the_canonical_withdraws_every_version_and_moves_the_canonical(
    store: Store,
) -> None:
    step(store, 4)
    assert statuses(store, "r1") == {
        "r1": ("killed", False),
        "p1": ("live", True),
        "r2": ("killed", False),
        "r3": ("killed", True),
    }
    story = store.story("r1")
    assert story is not None
    assert (story.status, story.size, story.canonical_id, story.sources) == (
        "live",
        1,
        "p1",
        ["ap"],
    )
    r2 = store.article("r2")
    assert r2 is not None and (r2.status, r2.change, r2.supersedes) == ("killed", "updated", "r1")


def test_killing_the_last_member_kills_the_story_which_stays_readable(store: Store) -> None:
    step(store, 5)
    assert [s.story_id for s in store.stories()] == []  # not listed ...
    assert store.count_stories() == 0
    story = store.story("r1")  # ... but readable, with its status and last canonical
    assert story is not None
    assert (story.status, story.size, story.canonical_id, story.revision) == (
        "killed",
        0,
        "p1",
        5,
    )
    assert {s for s, _ in statuses(store, "r1").values()} == {"killed"}
    killed = store.stories(StoryQuery(status="killed"))
    assert [s.story_id for s in killed] == ["r1"]
    revisions = store.revisions("r1")
    assert [(r.revision, r.event, r.members, r.canonical_id, r.cause_id) for r in revisions] == [
        (1, "created", 1, "r1", "r1"),
        (2, "updated", 2, "r1", "p1"),
        (3, "updated", 2, "r2", "r2"),
        (4, "updated", 1, "p1", "r3"),
        (5, "killed", 0, "p1", "p2"),
    ]
    assert [r.cause_change for r in revisions] == ["added", "added", "updated", "killed", "killed"]
    assert revisions[0].at == "1970-01-01T00:00:01+00:00"  # entry 1000-0: its entry's time


def test_a_withheld_item_is_hidden_until_a_usable_version_replaces_it(store: Store) -> None:
    step(store, 7)
    assert statuses(store, "x1") == {"x1": ("live", True), "y1": ("withheld", True)}
    story = store.story("x1")
    assert story is not None and (story.size, story.canonical_id, story.sources) == (
        1,
        "x1",
        ["dpa"],
    )
    step(store, 8)
    assert statuses(store, "x1") == {
        "x1": ("live", True),
        "y1": ("superseded", False),
        "y2": ("live", True),
    }
    story = store.story("x1")
    assert story is not None and (story.size, story.canonical_id, story.status) == (
        2,
        "y2",
        "live",
    )
    assert [s.story_id for s in store.stories()] == ["x1"]  # r1 is killed


def test_annotated_v1_articles_stay_as_they_were(store: Store) -> None:
    step(store, len(SCENARIO))
    u1 = store.article("u1")
    story = store.story("u1")
    assert u1 is not None and story is not None
    assert (u1.status, u1.current, u1.change, u1.guid) == ("live", True, None, None)
    assert (story.status, story.revision, story.size, story.canonical_id) == ("live", None, 1, "u1")
    assert store.revisions("u1") == []


def test_a_late_redelivery_of_an_old_entry_changes_nothing(store: Store) -> None:
    step(store, len(SCENARIO))
    before = snapshot(store)
    for entry in SCENARIO:  # each entry again, alone and as one batch
        store.upsert([entry])
    store.upsert(SCENARIO)
    assert snapshot(store) == before


@pytest.mark.parametrize("seed", [None, 1, 2, 3])
def test_the_same_entries_in_any_order_leave_the_same_store(store: Store, seed: int | None) -> None:
    step(store, len(SCENARIO))
    expected = snapshot(store)
    if seed is None:
        entries = list(reversed(SCENARIO))
    else:
        entries = random.Random(seed).sample(SCENARIO, len(SCENARIO))
    _reset(store)
    for entry in entries:
        store.upsert([entry])
    assert snapshot(store) == expected


def _reset(store: Store) -> None:
    with store.transaction() as tx:
        for table in ("story_revisions", "stories", "articles"):
            tx.run(f"DELETE FROM {table}")


def test_a_lower_revision_arriving_late_does_not_overwrite_a_higher_one(store: Store) -> None:
    store.upsert([SCENARIO[0], SCENARIO[1], SCENARIO[3]])  # revs 1, 2, 4 (r3 kills r; no r2 yet)
    store.upsert([SCENARIO[2]])  # rev 3, late: its canonical r2 must not come back
    story = store.story("r1")
    assert story is not None and (story.revision, story.canonical_id) == (4, "p1")
    assert statuses(store, "r1")["r2"] == ("killed", False)


def test_a_v2_database_migrates_keeping_its_rows_live_and_current(backend_url: str) -> None:  # noqa: F811
    old = open_store(backend_url)
    with old.transaction() as tx:  # the schema and rows of a store at migration 2
        tx.run(
            "CREATE TABLE schema_migrations "
            "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        for version, name, statements in MIGRATIONS[:2]:
            for statement in statements:
                tx.run(statement)
            tx.run(
                old.sql("INSERT INTO schema_migrations VALUES (?, ?, ?)"),
                (version, name, T0.isoformat()),
            )
        tx.run(
            old.sql(
                "INSERT INTO articles (id, story_id, source, url, title, lang, received_at, "
                "word_count, text_sha256, method, score, text, stream_entry, stored_at, guid, "
                "version, pub_status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            ),
            (
                *("old1", "old1", "reuters", "u", "old title", "en", T0.isoformat(), 2, "0" * 64),
                *("new", 1.0, "old text", "000000000000001-00000000", T0.isoformat()),
                *("urn:o", "1", "usable"),
            ),
        )
        tx.run(
            old.sql(
                "INSERT INTO stories (story_id, canonical_id, canonical_title, canonical_entry, "
                "size, sources, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            ),
            (
                *("old1", "old1", "old title", "000000000000001-00000000", 1, "reuters"),
                *(T0.isoformat(), T0.isoformat()),
            ),
        )
    assert old.schema_version() == 2
    assert old.migrate() == LATEST_VERSION == 3
    article = old.article("old1")
    story = old.story("old1")
    assert article is not None and story is not None
    assert (article.status, article.current, article.title) == ("live", True, "old title")
    assert (story.status, story.revision, story.size) == ("live", None, 1)
    assert [s.story_id for s in old.stories()] == ["old1"]
    # the old row is an item's first version like any other: a new version replaces it
    old.upsert(
        [
            (
                "2-0",
                wire(
                    "old2",
                    "old1",
                    source="reuters",
                    guid="urn:o",
                    version="2",
                    change="updated",
                    supersedes="old1",
                    event="updated",
                    revision=2,
                    members=1,
                    canonical="old2",
                ),
            )
        ]
    )
    assert [(v.id, v.status, v.current) for v in old.versions("old1")] == [
        ("old1", "superseded", False),
        ("old2", "live", True),
    ]
    story = old.story("old1")
    assert story is not None and (story.canonical_id, story.size) == ("old2", 1)
    old.close()


def test_the_supersedes_chain_wins_over_stream_order(store: Store) -> None:
    """Partitions: a new version's entry can carry a lower id than its predecessor's (another
    partition's stream); the version dedupe says it replaced is still the superseded one."""
    (_, first), (_, second) = SCENARIO[0], SCENARIO[2]  # r v1, r v2 (supersedes r1)
    store.upsert([("5000-0", first), ("4000-0", second)])
    assert [(v.id, v.status, v.current) for v in store.versions("r1")] == [
        ("r2", "live", True),
        ("r1", "superseded", False),
    ]


def test_concurrent_writers_of_one_items_versions_leave_one_current(
    store: Store,
    backend_url: str,  # noqa: F811
) -> None:
    """Store replicas writing versions of the same item at once (the PostgreSQL case), each in
    another story: the item lock makes each batch resolve the item from every committed
    version, so exactly one stays current."""
    rounds = 5
    for n in range(rounds):
        guid = f"urn:race:{n}"
        batches = [
            [
                (
                    f"{100 * n + v}-0",
                    wire(  # each version filed in a story of its own: no shared story lock
                        f"race{n}-v{v}",
                        f"race{n}-v{v}",
                        source="reuters",
                        guid=guid,
                        version=str(v),
                        change="added" if v == 1 else "updated",
                        supersedes=None if v == 1 else f"race{n}-v{v - 1}",
                        event="created",
                        revision=1,
                        members=1,
                        canonical=f"race{n}-v{v}",
                    ),
                )
            ]
            for v in range(1, 5)
        ]
        writers = [open_store(backend_url) for _ in batches]
        with ThreadPoolExecutor(len(writers)) as pool:
            list(pool.map(lambda wb: wb[0].upsert(wb[1]), zip(writers, batches, strict=True)))
        for writer in writers:
            writer.close()
        versions = store.versions(f"race{n}-v1")
        assert [(v.id, v.status, v.current) for v in versions] == [
            (f"race{n}-v{v}", "live" if v == 4 else "superseded", v == 4) for v in range(1, 5)
        ]
        live = [s.story_id for s in store.stories() if s.story_id.startswith(f"race{n}-")]
        assert live == [f"race{n}-v4"]  # the others hold only a superseded version

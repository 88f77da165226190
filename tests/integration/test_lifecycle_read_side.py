"""The lifecycle end to end on the store's side: annotated.v2 entries XADDed to a real Redis,
the real store stage (StageRunner, as the service runs it), then the API over real HTTP on
loopback and the CLI as a subprocess, on SQLite and PostgreSQL.

The entries are tests/lifecycle.py's run: story r1 is updated, loses its canonical to a kill
and is killed with its last member; story x1 hides a withheld item until its next version.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
import redis
from redis.asyncio import Redis

from services.api.app import create_app
from services.api.server import uvicorn_config
from services.store.db import open_store
from services.store.settings import StoreSettings
from services.store.stage import StoreStage
from tests.conftest import ROOT
from tests.integration.test_store_backends import annotated
from tests.lifecycle import SCENARIO, snapshot
from tests.loopback import serve_in_thread
from tests.pg import backend_url, pg_server_url, pg_url  # noqa: F401
from wiredesk.messages import encode_entry
from wiredesk.service import StageRunner
from wiredesk.settings import WiredeskSettings
from wiredesk.streaming import Entry, parse_entries, read_new

pytestmark = pytest.mark.integration

ODD_ID = "wire/x/versions"  # an article id that ends like the versions path


@pytest.fixture
async def stored(
    settings: WiredeskSettings,
    aredis: Redis,
    backend_url: str,  # noqa: F811
) -> str:
    """The scenario through Redis and the store stage, one old entry redelivered at the end;
    yields the database URL."""
    common = settings.model_dump(exclude={"consumer"})
    store_settings = StoreSettings(**common, consumer="store-test", database_url=backend_url)
    runner = StageRunner(StoreStage(store_settings), store_settings)
    await runner.start()
    try:
        for _, article in SCENARIO:
            await aredis.xadd(settings.streams.annotated, encode_entry(article))  # type: ignore[arg-type]
        while entries := await read_new(
            runner.redis,
            stream=settings.streams.annotated,
            group=store_settings.groups.store,
            consumer="store-test",
            count=3,
        ):
            await runner.process(entries)
        check = open_store(backend_url)
        before = snapshot(check)
        # a late redelivery of the first entry (a reclaim after a slow consumer's commit)
        written: Any = await aredis.xrange(settings.streams.annotated)
        (first, fields), *_ = parse_entries(written)
        await runner.process([Entry(first, fields, deliveries=2)])
        assert snapshot(check) == before
        assert await aredis.xpending(settings.streams.annotated, store_settings.groups.store) == {
            "pending": 0,
            "min": None,
            "max": None,
            "consumers": [],
        }
        check.upsert([("999999-0", annotated(ODD_ID, ODD_ID))])
        check.close()
    finally:
        await runner.stop()
    return backend_url


@pytest.fixture
def api(stored: str) -> Iterator[str]:
    store = open_store(stored)
    try:
        with serve_in_thread(create_app(store), config=uvicorn_config) as url:
            yield url
    finally:
        store.close()


def get(url: str) -> Any:
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def test_the_api_lists_live_stories_and_shows_killed_ones_with_their_history(api: str) -> None:
    page = get(f"{api}/stories")
    assert [s["story_id"] for s in page["items"]] == ["u1", "x1", ODD_ID]  # r1 is killed
    assert page["total"] == 3
    x1 = next(s for s in page["items"] if s["story_id"] == "x1")
    assert (x1["status"], x1["size"], x1["canonical_id"], x1["revision"]) == ("live", 2, "y2", 3)

    killed = get(f"{api}/stories?status=killed")
    assert ([s["story_id"] for s in killed["items"]], killed["total"]) == (["r1"], 1)
    assert httpx.get(f"{api}/stories?status=gone", timeout=10).status_code == 422

    r1 = get(f"{api}/stories/r1")
    assert (r1["status"], r1["size"], r1["canonical_id"], r1["revision"]) == ("killed", 0, "p1", 5)
    assert r1["members"] == []
    assert [(a["id"], a["status"]) for a in r1["history"]] == [
        (article_id, "killed") for article_id in ("r1", "p1", "r2", "r3", "p2")
    ]
    events = [(r["revision"], r["event"], r["members"], r["canonical_id"]) for r in r1["revisions"]]
    assert events == [
        (1, "created", 1, "r1"),
        (2, "updated", 2, "r1"),
        (3, "updated", 2, "r2"),
        (4, "updated", 1, "p1"),
        (5, "killed", 0, "p1"),
    ]
    assert get(f"{api}/stories/r1/revisions") == r1["revisions"]
    assert [r["cause_id"] for r in r1["revisions"]] == ["r1", "p1", "r2", "r3", "p2"]

    x1_detail = get(f"{api}/stories/x1")
    assert [m["id"] for m in x1_detail["members"]] == ["x1", "y2"]
    assert [(a["id"], a["status"]) for a in x1_detail["history"]] == [("y1", "superseded")]


def test_the_api_shows_an_articles_status_and_its_items_versions(api: str) -> None:
    r2 = get(f"{api}/articles/r2")
    assert (r2["status"], r2["current"], r2["guid"], r2["version"], r2["is_canonical"]) == (
        "killed",
        False,
        "urn:reuters:r",
        "2",
        False,
    )
    assert (r2["change"], r2["supersedes"]) == ("updated", "r1")
    expected = [
        ("r1", "1", "killed", False),
        ("r2", "2", "killed", False),
        ("r3", "3", "killed", True),
    ]
    assert [(v["id"], v["version"], v["status"], v["current"]) for v in r2["versions"]] == expected
    assert get(f"{api}/articles/r2/versions") == r2["versions"]
    assert all(v["received_at"] for v in r2["versions"])

    y2 = get(f"{api}/articles/y2")
    assert (y2["status"], y2["current"], y2["is_canonical"]) == ("live", True, True)
    assert [(v["id"], v["status"]) for v in y2["versions"]] == [
        ("y1", "superseded"),
        ("y2", "live"),
    ]
    u1 = get(f"{api}/articles/u1")  # annotated.v1: live, its own only version
    assert (u1["status"], u1["current"], u1["change"]) == ("live", True, None)
    assert [v["id"] for v in u1["versions"]] == ["u1"]


def test_ids_ending_in_the_sub_resource_names_still_resolve(api: str) -> None:
    assert get(f"{api}/articles/{ODD_ID}")["id"] == ODD_ID
    assert [v["id"] for v in get(f"{api}/articles/{ODD_ID}/versions")] == [ODD_ID]
    assert get(f"{api}/articles/wire/x/versions")["id"] == ODD_ID  # its prefix is no article
    assert get(f"{api}/stories/{ODD_ID}/revisions") == []
    for missing in ("/articles/nope/versions", "/stories/nope/revisions", "/stories/nope"):
        assert httpx.get(f"{api}{missing}", timeout=10).status_code == 404, missing


def test_openapi_publishes_the_read_side(api: str) -> None:
    document = get(f"{api}/openapi.json")
    paths = document["paths"]
    assert {
        "/stories/{story_id}/revisions",
        "/articles/{article_id}/versions",
        "/stories/{story_id}",
        "/articles/{article_id}",
    } <= set(paths)
    assert all(set(paths[p]) == {"get"} for p in paths)  # read-only
    schemas = document["components"]["schemas"]
    assert {"status", "revision"} <= set(schemas["StoryOut"]["properties"])
    assert {"history", "revisions"} <= set(schemas["StoryDetail"]["properties"])
    assert {"status", "current", "versions"} <= set(schemas["ArticleDetail"]["properties"])
    assert {"id", "version", "status", "current", "received_at"} <= set(
        schemas["VersionOut"]["properties"]
    )


def cli(database_url: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "wiredesk", *args],
        cwd=ROOT,
        env={**os.environ, "WIREDESK_DATABASE_URL": database_url, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_the_cli_shows_versions_status_and_revisions(stored: str) -> None:
    listed = [
        orjson.loads(line)["story_id"] for line in cli(stored, "stories", "--json").splitlines()
    ]
    assert sorted(listed) == sorted([ODD_ID, "u1", "x1"])
    killed = cli(stored, "stories", "--status", "killed", "--json").splitlines()
    assert [orjson.loads(line)["story_id"] for line in killed] == ["r1"]

    story = orjson.loads(cli(stored, "story", "r1", "--json"))
    assert (story["status"], story["members"], story["revision"]) == ("killed", [], 5)
    assert [r["event"] for r in story["revisions"]] == ["created", *["updated"] * 3, "killed"]
    assert {a["status"] for a in story["history"]} == {"killed"}
    table = cli(stored, "story", "r1")
    assert "status killed, revision 5" in table
    assert "revisions" in table and "created" in table

    article = orjson.loads(cli(stored, "article", "y1", "--json"))
    assert (article["status"], article["current"]) == ("superseded", False)
    assert [(v["id"], v["current"]) for v in article["versions"]] == [("y1", False), ("y2", True)]
    shown = cli(stored, "article", "y1")
    assert "versions" in shown and "superseded" in shown


def test_tail_renders_story_events_readably(settings: WiredeskSettings, redis_url: str) -> None:
    from wiredesk.story_events import StoryCanonical, StoryCause, StoryEvent
    from wiredesk.tail import follow, resolve_stream

    stream = resolve_stream(settings.streams, "stories")
    assert stream == settings.streams.stories
    event = StoryEvent(
        event="updated",
        story_id="r1",
        revision=3,
        members=2,
        canonical=StoryCanonical(id="r2", guid="urn:reuters:r", version="2", title="UPDATE 1"),
        cause=StoryCause(id="r2", guid="urn:reuters:r", version="2", change="updated"),
    )
    client = redis.Redis.from_url(redis_url)
    try:
        client.xadd(stream, encode_entry(event))  # type: ignore[arg-type]
        (entry,) = follow(client, stream, from_start=True, count=1, block_ms=100)
    finally:
        client.close()
    line = entry.summary()
    assert "story.v1 story r1 r3 updated members=2" in line
    assert "canonical=r2 'UPDATE 1'" in line and line.endswith("cause=r2 v2 updated")

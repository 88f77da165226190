"""The read API over a real store (SQLite and PostgreSQL), through httpx."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from services.api.app import create_app
from services.store.db import open_store
from tests.integration.test_store_backends import T0, annotated
from tests.pg import backend_url, pg_server_url, pg_url  # noqa: F401
from wiredesk.messages import Method

pytestmark = pytest.mark.integration


@pytest.fixture
async def client(backend_url: str) -> AsyncIterator[httpx.AsyncClient]:  # noqa: F811
    store = open_store(backend_url)
    store.migrate()
    store.upsert(
        [
            ("1-0", annotated("a", "a", source="wire")),
            ("2-0", annotated("a2", "a", source="blog", method=Method.NEAR, score=0.7, minutes=1)),
            ("3-0", annotated("b", "b", source="wire", lang="de", minutes=30)),
        ]
    )
    transport = httpx.ASGITransport(app=create_app(store, max_page=100))
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
        yield http
    store.close()


async def test_stories_are_listed_newest_first_with_a_page_envelope(
    client: httpx.AsyncClient,
) -> None:
    page = (await client.get("/stories")).json()
    assert [s["story_id"] for s in page["items"]] == ["b", "a"]
    assert (page["total"], page["next_offset"]) == (2, None)
    first = (await client.get("/stories", params={"limit": 1})).json()
    assert [s["story_id"] for s in first["items"]] == ["b"] and first["next_offset"] == 1
    second = (await client.get("/stories", params={"limit": 1, "offset": 1})).json()
    assert [s["story_id"] for s in second["items"]] == ["a"] and second["next_offset"] is None


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"source": "blog"}, ["a"]),
        ({"lang": "de"}, ["b"]),
        ({"min_size": 2}, ["a"]),
        ({"since": (T0.replace(minute=10)).isoformat()}, ["b"]),
        ({"until": "2024-12-15T00:10:00Z"}, ["a"]),
    ],
)
async def test_stories_can_be_filtered(
    client: httpx.AsyncClient, params: dict[str, object], expected: list[str]
) -> None:
    response = await client.get("/stories", params=params)  # type: ignore[arg-type]
    assert response.status_code == 200, response.text
    assert [s["story_id"] for s in response.json()["items"]] == expected


async def test_a_story_comes_with_its_members_and_their_scores(client: httpx.AsyncClient) -> None:
    story = (await client.get("/stories/a")).json()
    assert (story["canonical_id"], story["size"], story["sources"]) == ("a", 2, ["blog", "wire"])
    assert [(m["id"], m["method"], m["score"]) for m in story["members"]] == [
        ("a", "new", 1.0),
        ("a2", "near", 0.7),
    ]


async def test_an_article_carries_its_verdict_and_text(client: httpx.AsyncClient) -> None:
    article = (await client.get("/articles/a2")).json()
    assert (article["duplicate_of"], article["is_canonical"]) == ("a", False)
    assert article["text"] == "text of a2"
    assert (await client.get("/articles/a")).json()["is_canonical"] is True


async def test_unknown_ids_are_404_and_bad_parameters_422(client: httpx.AsyncClient) -> None:
    assert (await client.get("/stories/nope")).status_code == 404
    assert (await client.get("/articles/nope")).status_code == 404
    assert (await client.get("/stories", params={"limit": 1000})).status_code == 422
    assert (await client.get("/stories", params={"since": "yesterday"})).status_code == 422


async def test_health_readiness_and_openapi(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json()["status"] == "ok"
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["schema_version"] >= 1
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert {
        "/stories",
        "/stories/{story_id}",
        "/stories/{story_id}/revisions",
        "/articles/{article_id}",
        "/articles/{article_id}/versions",
        "/readyz",
    } <= set(paths)
    assert set(paths["/stories"]) == {"get"}  # read-only


async def test_readyz_is_503_until_the_store_has_migrated(backend_url: str) -> None:  # noqa: F811
    store = open_store(backend_url)
    transport = httpx.ASGITransport(app=create_app(store))
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
        assert (await http.get("/readyz")).status_code == 503
        store.migrate()
        assert (await http.get("/readyz")).status_code == 200
    store.close()

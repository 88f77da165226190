"""Hostile requests to the read API (a real uvicorn on loopback) and to a stage's metrics server:
every bad parameter is a 4xx JSON answer, never a 500 or a reset connection."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from services.api.app import create_app
from services.api.server import uvicorn_config
from services.store.sqlite import SqliteStore
from tests.integration.test_store_backends import annotated
from tests.loopback import serve_in_thread
from wiredesk.embedded import free_port
from wiredesk.observability import serve_health

pytestmark = pytest.mark.integration

SLASH_ID = "wire/2024/12/15/harbour"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = tmp_path_factory.mktemp("api") / "store.db"
    store = SqliteStore.from_url(f"sqlite:///{db}")
    store.migrate()
    store.upsert([("1-0", annotated(SLASH_ID, SLASH_ID)), ("2-0", annotated("plain", "plain"))])
    try:
        with serve_in_thread(create_app(store), config=uvicorn_config) as url:
            yield url
    finally:
        store.close()


BAD_QUERIES = [
    "offset=9223372036854775808",
    f"offset={10**30}",
    "offset=-1",
    "offset=abc",
    "min_size=9223372036854775808",
    "min_size=0",
    "limit=0",
    f"limit={10**30}",
    "limit=100000",
    "since=9999-12-31T23:59:59-05:00",
    "until=0001-01-01T00:00:00+05:00",
    "since=1066-10-14T09:00:00Z",
    "since=yesterday",
    "until=2024-13-45",
    "since=%00",
]


@pytest.mark.parametrize("query", BAD_QUERIES)
def test_bad_parameters_are_a_422_json_error(api: str, query: str) -> None:
    response = httpx.get(f"{api}/stories?{query}", timeout=10)
    assert response.status_code == 422, response.text
    assert "detail" in response.json()


def test_good_parameters_still_work(api: str) -> None:
    response = httpx.get(f"{api}/stories?since=2024-01-01T00:00:00Z&offset=1000000", timeout=10)
    assert response.status_code == 200 and response.json()["items"] == []


@pytest.mark.parametrize("size", [10_000, 1_000_000])
def test_a_huge_request_line_is_a_414(api: str, size: int) -> None:
    """Over a raw socket: httpx itself refuses URLs past 64 KiB."""
    host, port = api.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(f"GET /stories?source={'x' * size} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        head = b""
        while b"}" not in head:
            chunk = sock.recv(65536)
            if not chunk:
                break
            head += chunk
    assert head.startswith(b"HTTP/1.1 414"), head[:200]
    assert b'"detail"' in head


def test_unknown_ids_are_echoed_truncated(api: str) -> None:
    response = httpx.get(f"{api}/articles/{'z' * 5000}", timeout=10)
    assert response.status_code == 404
    assert len(response.json()["detail"]) < 200
    assert "5000 chars" in response.json()["detail"]


def test_ids_with_a_slash_can_be_fetched(api: str) -> None:
    article = httpx.get(f"{api}/articles/{SLASH_ID}", timeout=10)
    assert article.status_code == 200 and article.json()["id"] == SLASH_ID
    story = httpx.get(f"{api}/stories/{SLASH_ID}", timeout=10)
    assert story.status_code == 200 and story.json()["story_id"] == SLASH_ID


@pytest.mark.parametrize("path", ["/articles/%00", "/articles/%1b%5b2J", "/stories/..%2f..%2f"])
def test_odd_ids_are_a_404_json_answer(api: str, path: str) -> None:
    response = httpx.get(f"{api}{path}", timeout=10)
    assert response.status_code == 404 and "detail" in response.json()


async def _get(port: int, raw_path: str) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {raw_path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    await writer.drain()
    data = await reader.read()
    writer.close()
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
    return status, data


async def test_the_metrics_server_binds_loopback_and_answers_three_paths_only(
    tmp_path: Path,
) -> None:
    async def ready() -> bool:
        return True

    port = free_port()
    server = await serve_health(port, ready)
    try:
        assert {s.getsockname()[0] for s in server.sockets} == {"127.0.0.1"}
        expected = {
            "/metrics": 200,
            "/healthz": 200,
            "/readyz": 200,
            "/healthz?probe=1": 200,
            "/metricsfoo": 404,
            "/metrics/../secret": 404,
            "/healthzz": 404,
            "/": 404,
            "/admin": 404,
        }
        for path, status in expected.items():
            assert (await _get(port, path))[0] == status, path
        # a request line past the reader's limit: the connection closes, the server lives on
        await _get(port, "/" + "x" * 200_000)
        assert (await _get(port, "/healthz"))[0] == 200
    finally:
        server.close()

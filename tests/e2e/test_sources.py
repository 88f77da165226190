"""``wiredesk run poller`` and ``wiredesk run push`` as real processes: they serve, publish to
articles:raw, and exit 0 on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys

import httpx
import pytest
from redis.asyncio import Redis

from tests.conftest import ROOT
from tests.e2e.helpers import wait_until
from tests.feedserver import Route, feed_server
from wiredesk.settings import WiredeskSettings

pytestmark = pytest.mark.e2e

FEEDS = ROOT / "tests" / "fixtures" / "formats" / "feeds"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(command: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "wiredesk", "run", command],
        cwd=ROOT,
        env={**os.environ, **env, "WIREDESK_LOG_FORMAT": "json"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def stop(process: subprocess.Popen[bytes]) -> tuple[int, str]:
    process.send_signal(signal.SIGTERM)
    try:
        out, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate()
    return process.returncode, out.decode("utf-8", "replace")[-3000:]


async def test_the_poller_process_publishes_feeds_and_stops_cleanly(
    aredis: Redis, settings: WiredeskSettings, service_env: dict[str, str]
) -> None:
    with feed_server() as server:
        server.routes["/rss"] = Route((FEEDS / "wire-rss2.xml").read_bytes())
        server.routes["/atom"] = Route((FEEDS / "wire-atom.xml").read_bytes())
        env = {
            **service_env,
            "WIREDESK_POLLER_FEEDS": f"{server.url('/rss')},{server.url('/atom')}",
            "WIREDESK_POLLER_INTERVAL_S": "0.5",
        }
        process = start("poller", env)
        try:

            async def published() -> bool:
                return await aredis.xlen(settings.streams.raw) == 3

            await wait_until(published, timeout=60, what="3 entries from the poller")
            await wait_until(
                lambda: asyncio.sleep(0, result=server.statuses("/rss").count(304) >= 1),
                timeout=30,
                what="a conditional poll answered 304",
            )
        finally:
            code, output = stop(process)
        assert code == 0, output
        assert await aredis.xlen(settings.streams.raw) == 3  # polled again: nothing twice


def test_the_poller_refuses_to_start_without_feeds(service_env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "wiredesk", "run", "poller"],
        cwd=ROOT,
        env={**os.environ, **service_env, "WIREDESK_POLLER_FEEDS": ""},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "WIREDESK_POLLER_FEEDS" in result.stderr


async def test_the_push_process_accepts_items_and_stops_cleanly(
    aredis: Redis, settings: WiredeskSettings, service_env: dict[str, str]
) -> None:
    port = free_port()
    env = {
        **service_env,
        "WIREDESK_PUSH_PORT": str(port),
        "WIREDESK_PUSH_KEYS": '{"agency": "k-0123456789abcdef"}',
    }
    process = start("push", env)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:

            async def up() -> bool:
                try:
                    return (await http.get("/healthz")).status_code == 200
                except httpx.TransportError:
                    return False

            await wait_until(up, timeout=60, what="the push endpoint")
            body = (FEEDS / "wire-jsonfeed.json").read_bytes()
            response = await http.post(
                "/v1/items", content=body, headers={"X-API-Key": "k-0123456789abcdef"}
            )
            assert response.status_code == 202, response.text
            assert len(response.json()["items"]) == 2
    finally:
        code, output = stop(process)
    assert code == 0, output
    assert await aredis.xlen(settings.streams.raw) == 2


@pytest.mark.parametrize("command", ["poller", "push"])
def test_a_producer_that_cannot_route_by_partition_refuses_a_partitioned_layout(
    command: str, redis_url: str
) -> None:
    # Its items would sit in articles:raw, which no ingest replica reads on this layout.
    env = {
        "REDIS_URL": redis_url,
        "WIREDESK_PARTITIONS": "2",
        "WIREDESK_POLLER_FEEDS": "http://127.0.0.1:1/feed.xml",
        "WIREDESK_PUSH_PORT": str(free_port()),
    }
    process = start(command, env)
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 2, out.decode(errors="replace")
    assert b"does not route items by partition yet" in out

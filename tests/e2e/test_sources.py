"""``wiredesk run poller`` and ``wiredesk run push`` as real processes: they serve, publish to
articles:raw, and exit 0 on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

import httpx
import orjson
import pytest
from redis.asyncio import Redis

from tests.conftest import ROOT
from tests.e2e.helpers import wait_until
from tests.feedserver import Route, feed_server
from tests.loopback import free_port, healthy
from wiredesk.keys import Keys
from wiredesk.partitions import partition_for
from wiredesk.settings import WiredeskSettings

pytestmark = pytest.mark.e2e

FEEDS = ROOT / "tests" / "fixtures" / "formats" / "feeds"


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
            await wait_until(lambda: healthy(http), timeout=60, what="the push endpoint")
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


async def partition_entries(aredis: Redis, keys: Keys) -> dict[str, list[str]]:
    """Article ids per raw partition stream (and what is left in the un-partitioned one)."""
    found: dict[str, list[str]] = {}
    for stream in [keys.raw(p) for p in keys.all_partitions]:
        for _, fields in await aredis.xrange(stream):
            found.setdefault(stream, []).append(orjson.loads(fields[b"data"])["id"])
    return found


async def test_the_producers_route_each_item_to_its_partition(
    aredis: Redis, settings: WiredeskSettings, service_env: dict[str, str]
) -> None:
    """With WIREDESK_PARTITIONS=2 the poller and the push endpoint write each item to the raw
    stream of its id's partition (the rule `wiredesk replay` uses), never to articles:raw."""
    partitioned = settings.model_copy(update={"partitions": 2})
    keys = Keys.from_settings(partitioned)
    env = {**service_env, "WIREDESK_PARTITIONS": "2"}
    port = free_port()
    with feed_server() as server:
        server.routes["/rss"] = Route((FEEDS / "wire-rss2.xml").read_bytes())
        server.routes["/atom"] = Route((FEEDS / "wire-atom.xml").read_bytes())
        poller = start(
            "poller",
            {
                **env,
                "WIREDESK_POLLER_FEEDS": f"{server.url('/rss')},{server.url('/atom')}",
                "WIREDESK_POLLER_INTERVAL_S": "0.5",
            },
        )
        push = start(
            "push",
            {
                **env,
                "WIREDESK_PUSH_PORT": str(port),
                "WIREDESK_PUSH_KEYS": '{"agency": "k-0123456789abcdef"}',
            },
        )
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
                await wait_until(lambda: healthy(http), timeout=60, what="the push endpoint")
                response = await http.post(
                    "/v1/items",
                    content=(FEEDS / "wire-jsonfeed.json").read_bytes(),
                    headers={"X-API-Key": "k-0123456789abcdef"},
                )
                assert response.status_code == 202, response.text

            async def all_published() -> bool:
                found = await partition_entries(aredis, keys)
                return sum(len(ids) for ids in found.values()) == 5

            await wait_until(all_published, timeout=60, what="3 polled + 2 pushed items")
        finally:
            poller_code, poller_out = stop(poller)
            push_code, push_out = stop(push)
    assert poller_code == 0, poller_out
    assert push_code == 0, push_out
    found = await partition_entries(aredis, keys)
    for stream, ids in found.items():
        for article_id in ids:
            assert stream == keys.raw(partition_for(article_id, 2)), (article_id, stream)
    assert len(found) == 2  # five ids, two partitions: both used (fixed ids, so deterministic)
    assert await aredis.xlen(settings.streams.raw) == 0

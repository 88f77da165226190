"""Least-privilege ACL users: each service runs with only its own rights, and nothing more."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis
from redis.asyncio import Redis

from services.store.db import SqliteStore
from tests.conftest import SEEDS
from tests.e2e.helpers import service_logs, wait_until
from wiredesk.acl import setuser_commands
from wiredesk.launcher import ServiceProcesses
from wiredesk.replay import publish, read_articles
from wiredesk.settings import WiredeskSettings

pytestmark = pytest.mark.e2e

USERS = ("ingest", "dedupe", "store", "producer", "reader")


def user_url(redis_url: str, user: str) -> str:
    parts = urlsplit(redis_url)
    host = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{user}:{user}-secret@{host}{parts.path}"


@pytest.fixture
def acl_users(settings: WiredeskSettings) -> Iterator[None]:
    admin = redis.Redis.from_url(settings.redis_url)
    for command in setuser_commands(settings, {u: f"{u}-secret" for u in USERS}):
        admin.execute_command(*command)
    yield
    for user in USERS:
        admin.execute_command("ACL", "DELUSER", user)
    admin.close()


async def test_pipeline_runs_with_one_least_privilege_user_per_service(
    acl_users: None, settings: WiredeskSettings, service_env: dict[str, str], tmp_path: Path
) -> None:
    running = [
        ServiceProcesses(
            {**service_env, "REDIS_URL": user_url(settings.redis_url, s)},
            services=[s],
            log_dir=tmp_path / "logs",
        ).start()
        for s in ("ingest", "dedupe", "store")
    ]
    producer = Redis.from_url(user_url(settings.redis_url, "producer"))
    store = SqliteStore.from_url(service_env["WIREDESK_DATABASE_URL"])
    store.migrate()
    try:
        await publish(producer, settings.streams.raw, list(read_articles([SEEDS], source="seeds")))

        async def stored() -> bool:
            if any(n == 0 for p in running for n in p.alive().values()):
                raise AssertionError(service_logs(tmp_path / "logs"))
            return store.count_articles() == 5

        await wait_until(stored, what="5 stored articles under ACL users")
    finally:
        codes = [p.stop() for p in running]
        await producer.aclose()
    assert all(c == [0] for code in codes for c in code.values()), service_logs(tmp_path / "logs")


def test_each_user_is_refused_outside_its_streams(
    acl_users: None, settings: WiredeskSettings
) -> None:
    ingest = redis.Redis.from_url(user_url(settings.redis_url, "ingest"))
    reader = redis.Redis.from_url(user_url(settings.redis_url, "reader"))
    producer = redis.Redis.from_url(user_url(settings.redis_url, "producer"))
    try:
        with pytest.raises(redis.exceptions.NoPermissionError):
            ingest.xadd(settings.streams.annotated, {"data": "{}"})  # not its output
        with pytest.raises(redis.exceptions.NoPermissionError):
            ingest.flushall()
        with pytest.raises(redis.exceptions.NoPermissionError):
            producer.xrange(settings.streams.raw)  # producers only add
        with pytest.raises(redis.exceptions.NoPermissionError):
            reader.xadd(settings.streams.raw, {"data": "{}"})  # readers only read
        assert reader.xlen(settings.streams.unique) == 0
    finally:
        for client in (ingest, reader, producer):
            client.close()

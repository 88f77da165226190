"""The Redis-facing tests a second time, on the compose image's Redis (Debian's 7.0).

The suite itself runs on the embedded Valkey 9.1; production runs what docker-compose.yml runs.
Behaviour the pipeline relies on differs across versions (``XAUTOCLAIM``'s reply, ``lag`` in
``XINFO GROUPS``, deleted-but-pending entries), so the tests that exercise those run again here
in a child pytest with ``REDIS_URL`` pointing at a container of that image. The subset is the
Redis-facing one: the stream primitives, the lag, stream reads and dead letters, the dedupe log,
retention, poison, duplicates; the pipeline-wide tests run on Redis 7.0 in the compose stack.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT, server_version
from wiredesk.testing import docker_available, ensure_images, redis_container

pytestmark = [pytest.mark.docker, pytest.mark.timeout(900)]

SUBSET = (
    "tests/integration/test_streaming.py",
    "tests/integration/test_lag.py",
    "tests/integration/test_api_streams.py",
    "tests/integration/test_dedupe_state.py",
    "tests/reliability/test_retention.py",
    "tests/reliability/test_poison.py",
    "tests/reliability/test_duplicates.py",
)


@pytest.fixture(scope="module")
def redis_image() -> None:
    """Only the Redis image (this checkout's docker/redis.Dockerfile); skips without an engine."""
    ok, reason = docker_available()
    if not ok:
        pytest.skip(reason)
    ensure_images(services=["redis"])


def test_redis_facing_tests_pass_on_the_compose_redis(redis_image: None) -> None:
    with redis_container(appendonly=False) as handle:
        version = server_version(handle.url)
        assert version.startswith("Redis 7."), f"the compose image runs {version}, not Redis 7"
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *SUBSET],
            check=False,
            capture_output=True,
            text=True,
            timeout=840,
            cwd=ROOT,
            env={**os.environ, "REDIS_URL": handle.url},
        )
    output = result.stdout[-6000:] + result.stderr[-2000:]
    assert result.returncode == 0, output
    assert f"wiredesk redis: {version}" in result.stdout, output
    summary = result.stdout.strip().splitlines()[-1]
    assert re.search(r"\d+ passed", summary), summary
    assert "skipped" not in summary and "deselected" not in summary, summary
    print(f"on {version}: {summary}")

"""docker-compose.cluster.yml as a platform team runs it: six Redis nodes joined into a cluster
(3 masters, 3 replicas), the services on 3 partitions with WAIT, the seeds replayed through it.

The check reads the stack from inside, as an operator would: `wiredesk stories --json` in the
store's container and `wiredesk status` in ingest's (the cluster's nodes announce container
addresses, which only the stack's own network reaches).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from tests.conftest import SEEDS
from wiredesk.testing import ComposeStack, docker_available, ensure_images

pytestmark = [pytest.mark.docker, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def cluster_stack() -> Iterator[ComposeStack]:
    ok, reason = docker_available()
    if not ok:
        pytest.skip(reason)
    ensure_images(services=["redis", "ingest"])
    stack = ComposeStack(env={"COMPOSE_FILE": "docker-compose.cluster.yml"}, timeout=300)
    try:
        # not stack.up(): its wait for "all healthy" never ends with the one-shot cluster-init
        stack.compose("up", "-d", "--no-build")
        yield stack
    finally:
        stack.down(volumes=True)


def stories(stack: ComposeStack) -> list[dict[str, object]]:
    out = stack.compose("exec", "-T", "store", "wiredesk", "stories", "--json", check=False)
    if out.returncode != 0:
        return []
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


def test_the_cluster_stack_runs_the_seeds_into_one_story(cluster_stack: ComposeStack) -> None:
    deadline = time.monotonic() + 120
    info = ""
    while "cluster_state:ok" not in info and time.monotonic() < deadline:
        time.sleep(1)
        info = cluster_stack.compose(
            "exec", "-T", "redis-1", "redis-cli", "cluster", "info", check=False
        ).stdout
    assert "cluster_state:ok" in info, info + cluster_stack.logs()
    assert "cluster_size:3" in info, info
    deadline = time.monotonic() + 120
    while "Up" not in cluster_stack.compose("ps", "store").stdout:
        assert time.monotonic() < deadline, cluster_stack.logs()
        time.sleep(1)
    cluster_stack.replay(SEEDS)
    deadline = time.monotonic() + 240
    found: list[dict[str, object]] = []
    while time.monotonic() < deadline:
        found = stories(cluster_stack)
        if sum(int(str(s["size"])) for s in found) == 5:
            break
        time.sleep(2)
    assert sum(int(str(s["size"])) for s in found) == 5, (found, cluster_stack.logs())
    assert len(found) == 1, found  # five rewrites of one report: one story across 3 partitions
    status = cluster_stack.compose(
        "exec", "-T", "-e", "COLUMNS=250", "ingest", "wiredesk", "status"
    ).stdout
    for partition in range(3):
        assert f"p{partition}}}" in status, status  # every partition's streams are listed

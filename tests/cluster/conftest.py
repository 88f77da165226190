"""A real 3-master, 3-replica Redis Cluster for the session, a fresh namespace per test.

The cluster runs the suite's own redis-server binary (``wiredesk.embedded_cluster``); the
services find it from one node's URL (cluster mode is detected, as in production). Tests that
kill a master leave a promoted replica behind and restart the killed node, which rejoins as a
replica, so later tests still get three masters with a replica each.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.asyncio.cluster import RedisCluster

from wiredesk.embedded_cluster import EmbeddedCluster
from wiredesk.keys import Keys
from wiredesk.settings import Streams, WiredeskSettings

PARTITIONS = 3


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[EmbeddedCluster]:
    if os.environ.get("REDIS_URL"):
        pytest.skip("REDIS_URL points at one server; the cluster tests start their own cluster")
    with EmbeddedCluster(masters=3, replicas_per_master=1) as cluster:
        yield cluster


@pytest.fixture
def healthy_cluster(redis_cluster: EmbeddedCluster) -> EmbeddedCluster:
    """The session's cluster with every node running (a failed test may have left one dead)."""
    for node in redis_cluster.nodes:
        if not node.running:
            redis_cluster.restart(node)
    redis_cluster.wait_ok()
    return redis_cluster


@pytest.fixture
def cluster_settings(healthy_cluster: EmbeddedCluster, namespace: str) -> WiredeskSettings:
    return WiredeskSettings(
        redis_url=healthy_cluster.url,
        key_prefix=f"{namespace}wd",
        streams=Streams().prefixed(namespace),
        consumer="test-consumer",
        partitions=PARTITIONS,
        claim_idle_ms=100,
        claim_interval_s=0.2,
    )


@pytest.fixture
def keys(cluster_settings: WiredeskSettings) -> Keys:
    return Keys.from_settings(cluster_settings, cluster=True)


@pytest.fixture
def cluster_env(cluster_settings: WiredeskSettings, tmp_path: Path) -> dict[str, str]:
    """Environment for child service processes on the cluster, in this test's namespace."""
    return {
        "REDIS_URL": cluster_settings.redis_url,
        "WIREDESK_KEY_PREFIX": cluster_settings.key_prefix,
        "WIREDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}",
        "WIREDESK_PARTITIONS": str(PARTITIONS),
        "WIREDESK_CLAIM_INTERVAL_S": "0.5",
        "WIREDESK_CLAIM_IDLE_MS": "2000",
        "WIREDESK_LOG_LEVEL": "INFO",
        **cluster_settings.streams.env(),
    }


@pytest.fixture
async def acluster(healthy_cluster: EmbeddedCluster) -> AsyncIterator[RedisCluster]:
    client = RedisCluster.from_url(healthy_cluster.url)
    yield client
    await client.aclose()

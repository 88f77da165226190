"""WAIT on a real cluster: the default asks for one replica, and a short count is reported."""

from __future__ import annotations

import pytest
from redis.asyncio.cluster import RedisCluster

from wiredesk.cluster import ReplicaWait, resolve_wait_replicas
from wiredesk.keys import Keys
from wiredesk.settings import WiredeskSettings

pytestmark = pytest.mark.integration


async def test_default_wait_is_one_replica_on_a_cluster_with_replicas(
    acluster: RedisCluster, cluster_settings: WiredeskSettings
) -> None:
    assert await resolve_wait_replicas(cluster_settings, acluster) == 1
    explicit = cluster_settings.model_copy(update={"wait_replicas": 0})
    assert await resolve_wait_replicas(explicit, acluster) == 0


async def test_writes_are_confirmed_by_the_replica_and_more_replicas_than_exist_are_not(
    acluster: RedisCluster, keys: Keys
) -> None:
    streams = [keys.raw(p) for p in keys.all_partitions] + [keys.unique]
    for stream in streams:
        await acluster.xadd(stream, {"data": "x"})
    one = ReplicaWait(acluster, replicas=1, timeout_ms=2000, prefix=keys.prefix)
    assert await one.confirm(streams)
    assert one.short == 0
    two = ReplicaWait(acluster, replicas=2, timeout_ms=100, prefix=keys.prefix)
    assert not await two.confirm([keys.raw(0)])  # each master has one replica
    assert two.short == 1


async def test_a_lone_server_defaults_to_no_wait(redis_url: str) -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(redis_url)
    try:
        assert await resolve_wait_replicas(WiredeskSettings(redis_url=redis_url), client) == 0
        # and a WAIT for a replica that does not exist reports 0 instead of hanging
        wait = ReplicaWait(client, replicas=1, timeout_ms=50, prefix="t")
        assert not await wait.confirm(["articles:raw"])
    finally:
        await client.aclose()

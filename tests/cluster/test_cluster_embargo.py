"""Embargo hold and release on a real Redis Cluster: every script in the partition's slot."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio.cluster import RedisCluster

from services.ingest.settings import IngestSettings
from services.ingest.stage import IngestStage
from tests.cluster.test_cluster_tools import cli
from tests.integration.test_embargo import feed, item
from wiredesk.cluster import async_client
from wiredesk.keys import Keys
from wiredesk.messages import encode_entry
from wiredesk.partitions import partition_for
from wiredesk.service import StageRunner
from wiredesk.settings import WiredeskSettings

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


async def test_an_item_is_held_and_released_in_its_partition_on_a_cluster(
    acluster: RedisCluster,
    keys: Keys,
    cluster_settings: WiredeskSettings,
    cluster_env: dict[str, str],
) -> None:
    s = IngestSettings(**{**cluster_settings.model_dump(), "embargo_poll_s": 0.2})
    raw = item(11, datetime.now(UTC) + timedelta(seconds=2))
    p = partition_for(raw.id, keys.partitions)
    client = async_client(s, cluster=True)
    runner = StageRunner(IngestStage(s, partition=p, keys=keys), s, redis=client)
    await runner.start()
    try:
        await acluster.xadd(keys.raw(p), encode_entry(raw))  # type: ignore[arg-type]
        await feed(runner)
        assert await acluster.zcard(keys.embargo(p)) == 1
        assert await acluster.xlen(keys.normalized(p)) == 0
        assert "embargo: 1 held" in cli(cluster_env, "status")
        deadline = time.monotonic() + 15
        while await acluster.xlen(keys.normalized(p)) < 1:
            assert time.monotonic() < deadline, "not released"
            await asyncio.sleep(0.05)
        assert time.time() >= raw.embargoed.timestamp()  # type: ignore[union-attr]
        assert await acluster.zcard(keys.embargo(p)) == 0
    finally:
        await runner.stop()
        await client.aclose()

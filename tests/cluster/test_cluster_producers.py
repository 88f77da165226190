"""The poller and the push endpoint on a real Redis Cluster: each item lands in its id's
partition, a re-poll publishes nothing, and the two-step publish survives a lost record."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import orjson
import pytest
from redis.asyncio.cluster import RedisCluster

from services.poller.feeds import Feed
from services.poller.poller import Poller
from services.poller.settings import PollerSettings
from services.push.app import create_app
from services.push.settings import PushSettings
from tests.conftest import ROOT
from tests.feedserver import Route, feed_server
from tests.loopback import serve_in_thread
from wiredesk.keys import Keys
from wiredesk.partitions import partition_for
from wiredesk.settings import WiredeskSettings
from wiredesk.topology import Topology

pytestmark = pytest.mark.integration

FEEDS = ROOT / "tests" / "fixtures" / "formats" / "feeds"
KEY = "k-agency-cluster-0123456789"


async def placed(acluster: RedisCluster, keys: Keys) -> dict[str, list[str]]:
    """Article id -> the raw streams it was added to (once per XADD), over every partition."""
    out: dict[str, list[str]] = {}
    for p in keys.all_partitions:
        for _, fields in await acluster.xrange(keys.raw(p)):
            out.setdefault(orjson.loads(fields[b"data"])["id"], []).append(keys.raw(p))
    return out


async def test_the_poller_publishes_each_entry_once_into_its_partition(
    cluster_settings: WiredeskSettings, keys: Keys, acluster: RedisCluster
) -> None:
    settings = PollerSettings(**cluster_settings.model_dump())
    topology = await Topology.connect(settings)
    assert topology.cluster
    with feed_server() as server:
        server.routes["/rss"] = Route((FEEDS / "wire-rss2.xml").read_bytes())
        server.routes["/json"] = Route((FEEDS / "wire-jsonfeed.json").read_bytes())
        feeds = [Feed(server.url("/rss"), "rss-desk"), Feed(server.url("/json"), "json-desk")]
        poller = Poller(settings, topology.client, feeds, topology=topology)  # type: ignore[arg-type]
        try:
            first = await poller.poll_due()
            assert [r.published for r in first] == [2, 2], first
            # A crash between XADD and the record (the cluster's two-step publish): the entry
            # is published again with the same id, into the same partition, where ingest's
            # once-key drops it. Simulate the lost record and check exactly that.
            state = poller._states[server.url("/rss")]
            await topology.client.delete(state.seen_key)
            server.routes["/rss"].conditional = False
            again = await poller.poll_due(force=True)
        finally:
            await poller.aclose()
            await topology.aclose()
    ids = await placed(acluster, keys)
    assert len(ids) == 4
    for article_id, streams in ids.items():
        assert set(streams) == {keys.raw(partition_for(article_id, keys.partitions))}
    assert [r.published for r in again] == [2, 0]  # the JSON feed answered 304
    assert sorted(len(s) for s in ids.values()) == [1, 1, 2, 2]


@pytest.fixture
def push_url(cluster_settings: WiredeskSettings) -> Iterator[str]:
    """The push app as `wiredesk run push` builds it: it finds the cluster at start-up."""
    settings = PushSettings(**cluster_settings.model_dump(), push_keys={"agency": KEY})
    with serve_in_thread(create_app(settings)) as url:
        yield url


async def test_the_push_endpoint_routes_each_item_to_its_partition(
    push_url: str, keys: Keys, acluster: RedisCluster
) -> None:
    async with httpx.AsyncClient(base_url=push_url, timeout=30) as http:
        for name in ("wire-jsonfeed.json", "wire-rss2.xml", "wire-atom.xml"):
            response = await http.post(
                "/v1/items", content=(FEEDS / name).read_bytes(), headers={"X-API-Key": KEY}
            )
            assert response.status_code == 202, response.text
    found = await placed(acluster, keys)
    assert sum(len(streams) for streams in found.values()) == 5  # 2 + 2 + 1 items posted
    for article_id, streams in found.items():
        assert set(streams) == {keys.raw(partition_for(article_id, keys.partitions))}
    assert len({s for streams in found.values() for s in streams}) >= 2  # spread, not one

"""The feed poller against a real HTTP server on loopback and a real Redis: conditional GETs,
errors and backoff, slow servers, changing feeds, and a restart that re-publishes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import orjson
import pytest
from redis.asyncio import Redis

from services.poller.feeds import Feed, FeedListError, load_feeds
from services.poller.poller import Poller
from services.poller.settings import PollerSettings
from tests.conftest import ROOT
from tests.feedserver import FeedServer, Route, feed_server
from wiredesk.messages import RawArticle, RawArticleV2, decode_entry
from wiredesk.settings import WiredeskSettings

pytestmark = pytest.mark.integration

FEEDS = ROOT / "tests" / "fixtures" / "formats" / "feeds"
RSS = (FEEDS / "wire-rss2.xml").read_bytes()
ATOM = (FEEDS / "wire-atom.xml").read_bytes()
JSONFEED = (FEEDS / "wire-jsonfeed.json").read_bytes()


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with feed_server() as running:
        running.routes["/rss"] = Route(RSS)
        running.routes["/atom"] = Route(ATOM, content_type="application/atom+xml")
        running.routes["/json"] = Route(JSONFEED, content_type="application/feed+json")
        yield running


@pytest.fixture
def poller_settings(settings: WiredeskSettings) -> PollerSettings:
    return PollerSettings(
        redis_url=settings.redis_url,
        key_prefix=settings.key_prefix,
        streams=settings.streams,
        poller_interval_s=60,
        poller_timeout_s=1.0,
        poller_max_backoff_s=600,
    )


def feeds(server: FeedServer, *paths: str) -> list[Feed]:
    return [Feed(url=server.url(p), source=f"feed{p.replace('/', '-')}") for p in paths]


@pytest.fixture
async def make_poller(
    poller_settings: PollerSettings, aredis: Redis
) -> AsyncIterator[list[Poller]]:
    made: list[Poller] = []
    yield made
    for poller in made:
        await poller.aclose()


async def raw_entries(aredis: Redis, settings: WiredeskSettings) -> list[RawArticle]:
    return [
        decode_entry(fields, RawArticle, max_bytes=10**8)
        for _, fields in await aredis.xrange(settings.streams.raw)
    ]


async def test_first_poll_publishes_every_entry_and_the_next_is_a_304(
    server: FeedServer,
    poller_settings: PollerSettings,
    aredis: Redis,
    make_poller: list[Poller],
) -> None:
    poller = Poller(poller_settings, aredis, feeds(server, "/rss", "/atom", "/json"))
    make_poller.append(poller)
    results = await poller.poll_due()
    assert [r.published for r in results] == [2, 1, 2]
    entries = await raw_entries(aredis, poller_settings)
    assert len(entries) == 5
    for entry in entries:
        assert isinstance(entry, RawArticleV2)
        assert entry.guid
        assert entry.version == "1"
    assert {e.format for e in entries if isinstance(e, RawArticleV2)} == {"rss", "atom", "jsonfeed"}
    again = await poller.poll_due(force=True)
    assert [r.status for r in again] == ["not-modified"] * 3
    assert server.statuses("/rss") == [200, 304]
    assert await aredis.xlen(poller_settings.streams.raw) == 5
    not_due = await poller.poll_due()  # the interval has not passed: no request at all
    assert [r.status for r in not_due] == ["not-due"] * 3
    assert server.statuses("/rss") == [200, 304]


async def test_a_failing_feed_backs_off_alone_and_recovers(
    server: FeedServer,
    poller_settings: PollerSettings,
    aredis: Redis,
    make_poller: list[Poller],
) -> None:
    server.routes["/rss"].status = 500
    poller = Poller(poller_settings, aredis, feeds(server, "/rss", "/atom"))
    make_poller.append(poller)
    broken, fine = await poller.poll_due()
    assert broken.status == "error"
    assert "500" in (broken.error or "")
    assert fine.published == 1
    state = await poller._states[server.url("/rss")].http()
    assert state.failures == 1
    await poller.poll(feeds(server, "/rss")[0], force=True)
    state = await poller._states[server.url("/rss")].http()
    assert state.failures == 2
    assert poller.backoff_s(1) == 60
    assert poller.backoff_s(2) == 120
    assert poller.backoff_s(20) == 600  # capped
    server.routes["/rss"].status = 200
    recovered = await poller.poll(feeds(server, "/rss")[0], force=True)
    assert recovered.published == 2
    assert (await poller._states[server.url("/rss")].http()).failures == 0


async def test_a_slow_server_times_out_without_holding_up_the_others(
    server: FeedServer,
    poller_settings: PollerSettings,
    aredis: Redis,
    make_poller: list[Poller],
) -> None:
    server.routes["/rss"].delay_s = 3.0  # > poller_timeout_s
    poller = Poller(poller_settings, aredis, feeds(server, "/rss", "/json"))
    make_poller.append(poller)
    slow, fine = await poller.poll_due()
    assert slow.status == "error"
    assert "Timeout" in (slow.error or "")
    assert fine.published == 2
    assert await aredis.xlen(poller_settings.streams.raw) == 2


async def test_a_changed_feed_publishes_new_entries_and_new_versions_only(
    server: FeedServer,
    poller_settings: PollerSettings,
    aredis: Redis,
    make_poller: list[Poller],
) -> None:
    poller = Poller(poller_settings, aredis, feeds(server, "/json"))
    make_poller.append(poller)
    await poller.poll_due()
    doc = orjson.loads(JSONFEED)
    doc["items"][0]["content_html"] += "<p>Update: the race organisers confirmed the tests.</p>"
    doc["items"].append(
        {
            "id": "urn:example:new-entry",
            "title": "A third story",
            "content_text": " ".join(["A new story arrived in the feed between two polls."] * 4),
        }
    )
    server.routes["/json"].body = orjson.dumps(doc)
    (result,) = await poller.poll_due(force=True)
    assert result.published == 2  # the changed entry (as version 2) and the new one
    entries = await raw_entries(aredis, poller_settings)
    versions = [(e.guid, e.version) for e in entries if isinstance(e, RawArticleV2)]
    changed = doc["items"][0]["id"]
    assert versions.count((changed, "1")) == 1
    assert versions.count((changed, "2")) == 1
    assert ("urn:example:new-entry", "1") in versions
    assert len({e.id for e in entries}) == len(entries) == 4


async def test_a_restarted_poller_publishes_nothing_twice(
    server: FeedServer,
    poller_settings: PollerSettings,
    aredis: Redis,
    make_poller: list[Poller],
) -> None:
    for route in server.routes.values():
        route.conditional = False  # the server always answers 200: only seen-state helps
    first = Poller(poller_settings, aredis, feeds(server, "/rss", "/atom", "/json"))
    make_poller.append(first)
    await first.poll_due()
    assert await aredis.xlen(poller_settings.streams.raw) == 5
    await first.aclose()
    make_poller.remove(first)
    restarted = Poller(poller_settings, aredis, feeds(server, "/rss", "/atom", "/json"))
    make_poller.append(restarted)
    results = await restarted.poll_due(force=True)
    assert [r.status for r in results] == ["fetched"] * 3
    assert [r.published for r in results] == [0, 0, 0]
    assert await aredis.xlen(poller_settings.streams.raw) == 5


async def test_entries_that_are_no_article_are_dead_lettered_once(
    server: FeedServer,
    poller_settings: PollerSettings,
    aredis: Redis,
    make_poller: list[Poller],
) -> None:
    picture = (ROOT / "tests/fixtures/formats/ninjs/3.0/ap_image.json").read_bytes()
    server.routes["/photo"] = Route(picture, content_type="application/json", conditional=False)
    poller = Poller(poller_settings, aredis, feeds(server, "/photo"))
    make_poller.append(poller)
    await poller.poll_due()
    await poller.poll_due(force=True)
    letters = [
        orjson.loads(f[b"data"]) for _, f in await aredis.xrange(poller_settings.streams.dlq)
    ]
    assert [(x["stage"], x["reason"]) for x in letters] == [("poller", "not-text")]


def test_the_feed_list_comes_from_a_file_and_the_environment(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "feeds.txt"
    path.write_text("# wire feeds\nhttps://a.example/rss  agency-a\n\nhttps://b.example/atom\n")
    loaded = load_feeds("https://c.example/feed.json, https://a.example/rss", path)
    assert [(f.url, f.source) for f in loaded] == [
        ("https://a.example/rss", "agency-a"),
        ("https://b.example/atom", "b.example"),
        ("https://c.example/feed.json", "c.example"),
    ]
    with pytest.raises(FeedListError, match="not an http"):
        load_feeds("ftp://x.example/feed", None)

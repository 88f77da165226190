"""``wiredesk run poller``: fetch each configured feed, publish its new entries to articles:raw.

Per feed and per poll: a conditional GET (``If-None-Match`` / ``If-Modified-Since`` from the
last answer), so an unchanged feed costs a 304 and nothing else; on 200 the document goes
through the same format adapters as ``wiredesk replay`` (RSS, Atom, JSON Feed, and ninjs or
NewsML-G2 documents too), and each entry is published unless ``seen`` says it already was
with the same content (see :mod:`services.poller.state`). An error (refused connection,
timeout, 4xx/5xx, a document that is no feed) puts that feed alone on exponential backoff;
the other feeds go on. Entries that cannot become articles go to the dead-letter stream once.

On a partitioned layout (``WIREDESK_PARTITIONS`` > 1, or a Redis Cluster) each entry goes to
the raw stream of its article id's partition (:func:`wiredesk.partitions.partition_for`, the
rule every producer shares), and each chunk waits for ``WIREDESK_WAIT_REPLICAS`` before it
counts as published.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from redis.asyncio import Redis

from services.ingest.formats import DocumentError, Rejected, parse_document
from services.ingest.formats.base import item_id
from services.poller.feeds import Feed
from services.poller.settings import PollerSettings
from services.poller.state import FeedState, now
from wiredesk.messages import RawArticle, RawArticleV2, encode_entry
from wiredesk.observability import PROCESSED
from wiredesk.partitions import partition_for
from wiredesk.replay import dead_letter
from wiredesk.topology import Topology

__all__ = ["PollResult", "Poller"]

log = logging.getLogger(__name__)

FEED_FORMATS = frozenset({"rss", "atom", "jsonfeed"})
"""Formats whose entries carry no version: the poller numbers the changes it sees."""


@dataclass(frozen=True, slots=True)
class PollResult:
    url: str
    status: str
    """``fetched``, ``not-modified``, ``error`` or ``not-due``."""
    published: int = 0
    dead_lettered: int = 0
    error: str | None = None


def _digest(item: RawArticle) -> str:
    text = "\x1f".join((item.title or "", item.body))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


class Poller:
    """Polls a list of feeds; state lives in Redis, so any replica or restart carries on."""

    def __init__(
        self,
        settings: PollerSettings,
        redis: Redis,
        feeds: list[Feed],
        client: httpx.AsyncClient | None = None,
        *,
        topology: Topology | None = None,
    ) -> None:
        """``topology``: the deployment's layout (:meth:`Topology.connect`); without it, the
        single-stream layout of ``settings`` on ``redis``."""
        self.settings = settings
        self.redis = redis
        self.feeds = feeds
        layout = topology or Topology.single_node(settings, redis)
        self.keys = layout.keys
        # On a cluster the feed's state and the partition's stream live in different slots,
        # so one script cannot hold both (services.poller.state explains the two-step form).
        atomic = not layout.cluster
        confirm = layout.confirm if layout.wait else None
        self.client = client or httpx.AsyncClient(
            timeout=settings.poller_timeout_s,
            follow_redirects=True,
            headers={"User-Agent": "wiredesk-poller/0.1 (+https://wiredesk.dev)"},
        )
        self._states = {
            feed.url: FeedState(
                redis, settings.key_prefix, feed.url, atomic=atomic, confirm=confirm
            )
            for feed in feeds
        }

    async def aclose(self) -> None:
        await self.client.aclose()

    def backoff_s(self, failures: int) -> float:
        """Interval x 2^(failures-1), capped: 1, 2, 4 ... intervals after repeated errors."""
        base = self.settings.poller_interval_s
        return float(min(self.settings.poller_max_backoff_s, base * 2 ** max(0, failures - 1)))

    async def poll_due(self, *, force: bool = False) -> list[PollResult]:
        """Poll every feed whose time has come (all of them with ``force``), a few at once."""
        gate = asyncio.Semaphore(self.settings.poller_concurrency)

        async def one(feed: Feed) -> PollResult:
            async with gate:
                return await self.poll(feed, force=force)

        return list(await asyncio.gather(*(one(feed) for feed in self.feeds)))

    async def poll(self, feed: Feed, *, force: bool = False) -> PollResult:
        state = self._states[feed.url]
        http = await state.http()
        if not force and http.next_at > now():
            return PollResult(feed.url, "not-due")
        headers = {}
        if http.etag:
            headers["If-None-Match"] = http.etag
        if http.last_modified:
            headers["If-Modified-Since"] = http.last_modified
        try:
            response = await self.client.get(feed.url, headers=headers)
            if response.status_code == 304:
                await state.unchanged(now() + self.settings.poller_interval_s)
                PROCESSED.labels("poller", "not-modified").inc()
                return PollResult(feed.url, "not-modified")
            items = self._items(feed, response)
        except (httpx.HTTPError, DocumentError) as exc:
            failures = http.failures + 1
            wait = self.backoff_s(failures)
            await state.failed(failures, now() + wait)
            PROCESSED.labels("poller", "error").inc()
            error = f"{type(exc).__name__}: {exc}"
            log.warning(
                "feed poll failed",
                extra={"feed": feed.url, "error": error, "failures": failures, "retry_in_s": wait},
            )
            return PollResult(feed.url, "error", error=error)
        published, dead = await self._publish(state, items)
        await state.succeeded(
            response.headers.get("etag"),
            response.headers.get("last-modified"),
            now() + self.settings.poller_interval_s,
        )
        PROCESSED.labels("poller", "published").inc(published)
        log.info(
            "feed polled",
            extra={"feed": feed.url, "entries": len(items), "published": published, "dlq": dead},
        )
        return PollResult(feed.url, "fetched", published=published, dead_lettered=dead)

    def _items(self, feed: Feed, response: httpx.Response) -> list[RawArticle | Rejected]:
        response.raise_for_status()
        if len(response.content) > self.settings.poller_max_feed_bytes:
            raise DocumentError(
                f"{len(response.content)} bytes > WIREDESK_POLLER_MAX_FEED_BYTES "
                f"({self.settings.poller_max_feed_bytes})"
            )
        name = urlsplit(feed.url).path.rsplit("/", 1)[-1]
        return parse_document(response.content, source=feed.source, locator=feed.url, name=name)

    async def _publish(
        self, state: FeedState, items: list[RawArticle | Rejected]
    ) -> tuple[int, int]:
        published = dead = 0
        keys, n = self.keys, self.keys.partitions
        for item in items:
            if isinstance(item, Rejected):
                key = (
                    "rejected:"
                    + hashlib.sha256(f"{item.locator}\x1f{item.reason}".encode()).hexdigest()[:32]
                )
                if await state.seen(key) is not None:
                    continue
                entry = encode_entry(dead_letter(item, stage="poller"))
                dlq = keys.dlq(partition_for(key, n))
                if await state.publish(dlq, key, previous="", record="0|-", entry=entry):
                    dead += 1
                continue
            guid = getattr(item, "guid", None) or item.id
            digest = _digest(item)
            numbered = isinstance(item, RawArticleV2) and item.format in FEED_FORMATS
            key = guid if numbered else f"{guid}@{getattr(item, 'version', None) or ''}"
            seen = await state.seen(key)
            if seen is not None and (seen[1] == digest or not numbered):
                continue  # published before: unchanged, or a versioned item seen already
            previous = f"{seen[0]}|{seen[1]}" if seen is not None else ""
            message = item
            version = 1
            if numbered:
                version = seen[0] + 1 if seen is not None else 1
                message = item.model_copy(
                    update={
                        "version": str(version),
                        "id": item_id(item.source, guid, str(version), item.url, item.body),
                    }
                )
            record = f"{version}|{digest}"
            entry = encode_entry(message)
            raw = keys.raw(partition_for(message.id, n))
            if await state.publish(raw, key, previous=previous, record=record, entry=entry):
                published += 1
        return published, dead

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until ``stop`` is set; sleeps in short steps so a SIGTERM is served at once."""
        while not stop.is_set():
            await self.poll_due()
            states = [await self._states[f.url].http() for f in self.feeds]
            due = min((s.next_at for s in states), default=now() + 1)
            try:
                await asyncio.wait_for(stop.wait(), timeout=max(0.05, min(due - now(), 5.0)))
            except TimeoutError:
                continue

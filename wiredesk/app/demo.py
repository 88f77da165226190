"""``wiredesk demo``: the whole pipeline on an embedded Redis and SQLite, then the stories.

With ``REDIS_URL`` (or ``WIREDESK_REDIS_URL``) set it uses that Redis and starts none; its
streams and keys then live under a fresh ``demo-XXXX:`` namespace so an existing pipeline on the
same Redis is not disturbed.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from redis.asyncio import Redis

from services.store.models import StoredArticle, Story
from services.store.sqlite import SqliteStore
from wiredesk.app.files import expected_stored, split_items
from wiredesk.app.launcher import ServiceProcesses
from wiredesk.embedded import EmbeddedRedis
from wiredesk.replay import publish, publish_rejected
from wiredesk.settings import Streams, WiredeskSettings


class DemoError(RuntimeError):
    pass


@dataclass(frozen=True)
class DemoResult:
    stories: list[tuple[Story, list[StoredArticle]]]
    articles: int
    seconds: float


def run_demo(paths: list[Path], *, timeout: float = 180.0) -> DemoResult:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="wiredesk-demo-") as tmp, ExitStack() as stack:
        redis_url = WiredeskSettings().given_redis_url
        streams, key_prefix = Streams(), "wd"
        if redis_url is None:
            redis_url = stack.enter_context(EmbeddedRedis()).url
        else:
            namespace = f"demo-{uuid.uuid4().hex[:8]}:"
            streams, key_prefix = streams.prefixed(namespace), f"{namespace}wd"
        database_url = f"sqlite:///{Path(tmp) / 'wiredesk.db'}"
        env = {
            "REDIS_URL": redis_url,
            "WIREDESK_KEY_PREFIX": key_prefix,
            "WIREDESK_DATABASE_URL": database_url,
            "WIREDESK_CLAIM_INTERVAL_S": "1",
            **streams.env(),
        }
        articles, rejected = split_items(paths, source="seeds")
        expected = expected_stored(articles)
        services = stack.enter_context(ServiceProcesses(env, log_dir=Path(tmp) / "logs"))

        async def replay() -> None:
            client = Redis.from_url(redis_url)
            try:
                await publish(client, streams.raw, articles)
                await publish_rejected(client, streams.dlq, rejected)
            finally:
                await client.aclose()

        asyncio.run(replay())
        store = SqliteStore.from_url(database_url)
        store.migrate()
        try:
            deadline = time.monotonic() + timeout
            while store.count_articles() < expected:
                dead = {s: n for s, n in services.alive().items() if n == 0}
                if dead:
                    raise DemoError(f"service(s) exited early: {sorted(dead)}; logs in {tmp}/logs")
                if time.monotonic() > deadline:
                    raise DemoError(
                        f"timed out: {store.count_articles()} of {expected} articles stored"
                    )
                time.sleep(0.1)
            stories = [
                (story, store.members(story.story_id)) for story in store.stories(limit=1000)
            ]
            stored = store.count_articles()
        finally:
            store.close()
        codes = services.stop()
        failed = {s: c for s, c in codes.items() if any(code != 0 for code in c)}
        if failed:
            raise DemoError(f"services did not shut down cleanly: {failed}")
    return DemoResult(stories=stories, articles=stored, seconds=time.monotonic() - started)

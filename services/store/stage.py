"""The store's stage: annotated articles in, rows upserted and committed, then acked.

Its effects are committed in the database, not in Redis, so no script can make output and ack
one step; the ack follows the commit (:meth:`wiredesk.streaming.StreamCommitter.ack`, next to
the Redis-to-Redis commit path), and a crash in between redelivers rows the upsert rewrites."""

from __future__ import annotations

import asyncio
import logging

from redis.asyncio import Redis

from services.store.base import Store
from services.store.db import open_store
from services.store.settings import StoreSettings
from wiredesk.deadletter import DeadLetterPolicy
from wiredesk.keys import Keys
from wiredesk.messages import AnnotatedArticle
from wiredesk.observability import PROCESSED
from wiredesk.streaming import Entry, StreamCommitter

log = logging.getLogger(__name__)


class StoreStage:
    """One database transaction per batch; the acks follow the commit, never precede it."""

    name = "store"
    outcomes = ("stored",)

    def __init__(
        self,
        settings: StoreSettings,
        *,
        partition: int = 0,
        keys: Keys | None = None,
        shared: StoreStage | None = None,
    ) -> None:
        self.settings = settings
        self.keys = keys or Keys.from_settings(settings)
        self.input_stream = self.keys.annotated(partition)
        self.dlq_stream = self.keys.dlq(partition)
        self.errors_key = self.keys.errors(self.name, partition)
        self.group = settings.groups.store
        # Partitions of one process share one database connection (``shared`` opens it).
        self._shared = shared
        self._db: Store | None = None
        self._committer: StreamCommitter | None = None

    async def setup(self, redis: Redis) -> None:
        if self._shared is not None:
            if self._shared._db is None:
                raise RuntimeError("set up the first partition's StoreStage first")
            self._db = self._shared._db
            self._committer = StreamCommitter(
                redis, input_stream=self.input_stream, group=self.group
            )
            return
        self._db = await asyncio.to_thread(open_store, self.settings.database_url)
        version = await asyncio.to_thread(self._db.migrate)
        self._committer = StreamCommitter(
            redis,
            input_stream=self.input_stream,
            group=self.group,
            dlq=DeadLetterPolicy.of(self.settings),
        )
        log.info("store ready", extra={"schema_version": version, "backend": self._db.dialect})

    async def close(self) -> None:
        if self._shared is not None:
            self._db = None
            return
        if self._db is not None:
            self._db.close()
            self._db = None

    async def handle(self, entries: list[Entry]) -> None:
        if self._db is None or self._committer is None:
            raise RuntimeError("StoreStage.setup() was not awaited")
        valid = await self._committer.decode_or_dead_letter(
            entries,
            AnnotatedArticle,
            max_bytes=self.settings.max_message_bytes,
            dlq_stream=self.dlq_stream,
            stage=self.name,
        )
        rows = [(entry.id, article) for entry, article in valid]
        if not rows:
            return
        await asyncio.to_thread(self._db.upsert, rows)
        await self._committer.ack([entry_id for entry_id, _ in rows])
        PROCESSED.labels(self.name, "stored").inc(len(rows))

"""PostgreSQL backend (``DATABASE_URL=postgresql://...``), on psycopg 3.

Same tables and queries as SQLite (times stay ISO-8601 text, see :mod:`services.store.timefmt`).
What PostgreSQL needs on top, because several store replicas may write at once:

- migrations run under a transaction-scoped advisory lock, so replicas starting together apply
  each migration once;
- a batch takes an advisory lock per story it touches (in sorted order, so two batches cannot
  deadlock) before recomputing the story's aggregates; under READ COMMITTED the second writer
  then sees the first one's committed members, so sizes never go stale;
- the same for each wire item (``source`` + ``guid``) of the batch, taken before the story
  locks, so two batches with versions of one item (even filed in different stories) resolve
  its current version one after the other, from every committed version.

One connection in autocommit mode guarded by a lock; writes open an explicit transaction. A
broken connection (server restart) is replaced on the next call: the failed batch stays pending
in Redis and is retried.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg

from services.store.base import Row, Store, Tx

MIGRATION_LOCK = 7_253_114  # any constant; names the "migrating" advisory lock


def is_postgres_url(database_url: str) -> bool:
    return database_url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://"))


def libpq_url(database_url: str) -> str:
    """The URL libpq understands (SQLAlchemy-style ``postgresql+psycopg://`` is accepted too)."""
    return database_url.replace("postgresql+psycopg://", "postgresql://", 1)


class _PgTx:
    def __init__(self, cursor: psycopg.Cursor[Any]) -> None:
        self._cursor = cursor

    def run(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        self._cursor.execute(sql.encode(), params)  # bytes: our SQL is built, not a literal
        return list(self._cursor.fetchall()) if self._cursor.description else []

    def run_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self._cursor.executemany(sql.encode(), rows)


class PostgresStore(Store):
    dialect = "postgresql"
    placeholder = "%s"

    def __init__(self, database_url: str) -> None:
        if not is_postgres_url(database_url):
            raise ValueError(f"not a PostgreSQL URL: {database_url!r}")
        self.url = libpq_url(database_url)
        self._lock = threading.Lock()
        self._conn = self._connect()

    @classmethod
    def from_url(cls, database_url: str) -> PostgresStore:
        return cls(database_url)

    def _connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.url, autocommit=True, connect_timeout=10)

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn.closed or self._conn.broken:
            self._conn = self._connect()
        return self._conn

    def close(self) -> None:
        self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[_PgTx]:
        with self._lock:
            conn = self._connection()
            with conn.transaction(), conn.cursor() as cursor:
                yield _PgTx(cursor)

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        with self._lock, self._connection().cursor() as cursor:
            cursor.execute(sql.encode(), params)
            return list(cursor.fetchall()) if cursor.description else []

    def lock_migrations(self, tx: Tx) -> None:
        tx.run("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))

    def lock_stories(self, tx: Tx, story_ids: Sequence[str]) -> None:
        for story_id in sorted(story_ids):
            tx.run("SELECT pg_advisory_xact_lock(hashtext(%s))", (story_id,))

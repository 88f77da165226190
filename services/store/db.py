"""The store's database: migrations, idempotent upserts, and the read queries.

SQLite (the default) runs in WAL mode so readers (CLI, API) never block the writer. All SQL is
written once with ``?`` placeholders; every write path is an upsert keyed by article id, so
redelivered messages change nothing.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from services.store.schema import MIGRATIONS
from wiredesk.messages import AnnotatedArticle


@dataclass(frozen=True, slots=True)
class StoredArticle:
    id: str
    story_id: str
    source: str
    url: str
    title: str
    lang: str
    published_at: str | None
    received_at: str
    word_count: int
    method: str
    score: float
    duplicate_of: str | None


@dataclass(frozen=True, slots=True)
class Story:
    story_id: str
    canonical_id: str
    canonical_title: str
    size: int
    sources: list[str]
    first_seen: str
    last_seen: str


_ARTICLE_COLUMNS = (
    "id, story_id, source, url, title, lang, published_at, received_at, word_count, "
    "method, score, duplicate_of"
)


def sortable_entry_id(entry_id: str) -> str:
    """Stream ids compare as numbers; pad them so that text comparison agrees."""
    ms, _, seq = entry_id.partition("-")
    return f"{int(ms):015d}-{int(seq or 0):08d}"


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def sqlite_path(database_url: str) -> Path:
    if not database_url.startswith("sqlite:///"):
        raise ValueError(f"not a sqlite URL: {database_url!r} (expected sqlite:///PATH)")
    return Path(database_url.removeprefix("sqlite:///"))


class SqliteStore:
    """One connection guarded by a lock: writes come from one event loop via a worker thread."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA busy_timeout=10000")
        self._lock = threading.Lock()

    @classmethod
    def from_url(cls, database_url: str) -> SqliteStore:
        return cls(sqlite_path(database_url))

    def close(self) -> None:
        self._conn.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Cursor]:
        with self._lock:
            cursor = self._conn.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            try:
                yield cursor
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            cursor.execute("COMMIT")

    def migrate(self) -> int:
        """Apply pending migrations; returns the schema version."""
        with self._transaction() as cur:
            cur.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
            done = {row[0] for row in cur.execute("SELECT version FROM schema_migrations")}
            for version, name, statements in MIGRATIONS:
                if version in done:
                    continue
                for statement in statements:
                    cur.execute(statement)
                cur.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (version, name, datetime.now(UTC).isoformat()),
                )
        return max(v for v, _, _ in MIGRATIONS)

    def upsert(self, rows: Sequence[tuple[str, AnnotatedArticle]]) -> None:
        """Store a batch of (stream entry id, article) in one transaction."""
        now = datetime.now(UTC).isoformat()
        with self._transaction() as cur:
            for entry_id, article in rows:
                cur.execute(
                    """
                    INSERT INTO articles (id, story_id, source, url, title, lang, published_at,
                        received_at, word_count, text_sha256, method, score, duplicate_of, text,
                        stream_entry, stored_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (id) DO UPDATE SET
                        story_id = excluded.story_id, method = excluded.method,
                        score = excluded.score, duplicate_of = excluded.duplicate_of,
                        stream_entry = excluded.stream_entry
                    WHERE excluded.stream_entry > articles.stream_entry
                    """,
                    (
                        article.id,
                        article.story_id,
                        article.source,
                        article.url,
                        article.title,
                        article.lang,
                        _iso(article.published_at),
                        _iso(article.received_at),
                        article.word_count,
                        article.text_sha256,
                        article.method.value,
                        article.score,
                        article.duplicate_of,
                        article.text,
                        sortable_entry_id(entry_id),
                        now,
                    ),
                )
            latest: dict[str, tuple[str, str]] = {}
            for entry_id, article in rows:
                latest[article.story_id] = (sortable_entry_id(entry_id), article.canonical_id)
            for story_id, (entry, canonical_id) in latest.items():
                self._refresh_story(cur, story_id, entry, canonical_id)

    @staticmethod
    def _refresh_story(cur: sqlite3.Cursor, story_id: str, entry: str, canonical_id: str) -> None:
        size, first_seen, last_seen = cur.execute(
            "SELECT COUNT(*), MIN(received_at), MAX(received_at) FROM articles WHERE story_id = ?",
            (story_id,),
        ).fetchone()
        sources = sorted(
            row[0]
            for row in cur.execute(
                "SELECT DISTINCT source FROM articles WHERE story_id = ?", (story_id,)
            )
        )
        title_row = cur.execute(
            "SELECT title FROM articles WHERE id = ?", (canonical_id,)
        ).fetchone()
        cur.execute(
            """
            INSERT INTO stories (story_id, canonical_id, canonical_title, canonical_entry, size,
                sources, first_seen, last_seen)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (story_id) DO UPDATE SET
                size = excluded.size, sources = excluded.sources,
                first_seen = excluded.first_seen, last_seen = excluded.last_seen,
                canonical_id = CASE WHEN excluded.canonical_entry >= stories.canonical_entry
                    THEN excluded.canonical_id ELSE stories.canonical_id END,
                canonical_title = CASE WHEN excluded.canonical_entry >= stories.canonical_entry
                    THEN excluded.canonical_title ELSE stories.canonical_title END,
                canonical_entry = CASE WHEN excluded.canonical_entry >= stories.canonical_entry
                    THEN excluded.canonical_entry ELSE stories.canonical_entry END
            """,
            (
                story_id,
                canonical_id,
                title_row[0] if title_row else "",
                entry,
                size,
                "\n".join(sources),
                first_seen,
                last_seen,
            ),
        )

    # -- read side -----------------------------------------------------------------------

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return list(self._conn.execute(sql, params))

    def count_articles(self) -> int:
        return int(self._query("SELECT COUNT(*) FROM articles")[0][0])

    def stories(self, *, limit: int = 50, offset: int = 0) -> list[Story]:
        rows = self._query(
            "SELECT story_id, canonical_id, canonical_title, size, sources, first_seen, last_seen "
            "FROM stories ORDER BY last_seen DESC, story_id LIMIT ? OFFSET ?",
            (limit, offset),
        )
        return [_story(row) for row in rows]

    def story(self, story_id: str) -> Story | None:
        rows = self._query(
            "SELECT story_id, canonical_id, canonical_title, size, sources, first_seen, last_seen "
            "FROM stories WHERE story_id = ?",
            (story_id,),
        )
        return _story(rows[0]) if rows else None

    def members(self, story_id: str) -> list[StoredArticle]:
        rows = self._query(
            f"SELECT {_ARTICLE_COLUMNS} FROM articles WHERE story_id = ? "  # noqa: S608
            "ORDER BY stream_entry",
            (story_id,),
        )
        return [StoredArticle(*row) for row in rows]

    def article(self, article_id: str) -> StoredArticle | None:
        rows = self._query(
            f"SELECT {_ARTICLE_COLUMNS} FROM articles WHERE id = ?",  # noqa: S608
            (article_id,),
        )
        return StoredArticle(*rows[0]) if rows else None


def _story(row: tuple[Any, ...]) -> Story:
    story_id, canonical_id, title, size, sources, first_seen, last_seen = row
    return Story(
        story_id=story_id,
        canonical_id=canonical_id,
        canonical_title=title,
        size=int(size),
        sources=[s for s in str(sources).split("\n") if s],
        first_seen=first_seen,
        last_seen=last_seen,
    )

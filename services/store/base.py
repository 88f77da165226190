"""The store's logic, written once for every SQL backend.

A backend (:mod:`services.store.sqlite`, :mod:`services.store.postgres`) only knows how to open
a connection, run a transaction and lock; everything that decides *what* is stored lives here,
so SQLite and PostgreSQL cannot drift apart and one test suite covers both.

Write path, one transaction per batch (``upsert``):

1. upsert every article by id; a row changes only for a *later* stream entry
   (``stream_entry`` is the padded entry id), so a redelivered or reclaimed old message cannot
   overwrite a newer verdict: this is what makes the store idempotent;
2. recompute the aggregates (size, sources, first/last seen) of every story the batch touched,
   including the story an article *left* when dedupe moved it (a merge), and delete stories
   left empty;
3. take the canonical article from the newest entry of each story, and its title from the
   articles table (so a canonical stored later still gets its title).

SQL is written with ``?`` placeholders; :meth:`Store.sql` rewrites them for drivers that use
``%s``. Statements avoid anything SQLite or PostgreSQL would read differently.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from services.store.items import ITEM_COLUMNS, UPDATE_ITEM, item_rows, item_values
from services.store.models import StoredArticle, Story, StoryQuery
from services.store.schema import MIGRATIONS
from services.store.timefmt import iso, iso_or_none, now_iso, sortable_entry_id
from wiredesk.messages import AnnotatedArticle

Row = tuple[Any, ...]

ARTICLE_COLUMNS = (
    "id, story_id, source, url, title, lang, published_at, received_at, word_count, "
    "method, score, duplicate_of"
)
ARTICLE_COLUMNS += ", " + ", ".join(ITEM_COLUMNS)
STORY_COLUMNS = "story_id, canonical_id, canonical_title, size, sources, first_seen, last_seen"
LATEST_VERSION = max(version for version, _, _ in MIGRATIONS)
IN_CHUNK = 500  # parameters per IN (...) list, far below SQLite's and PostgreSQL's limits

UPSERT_ARTICLE = """
INSERT INTO articles (id, story_id, source, url, title, lang, published_at, received_at,
    word_count, text_sha256, method, score, duplicate_of, text, stream_entry, stored_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET
    story_id = excluded.story_id, method = excluded.method, score = excluded.score,
    duplicate_of = excluded.duplicate_of, stream_entry = excluded.stream_entry,
    stored_at = excluded.stored_at
WHERE excluded.stream_entry > articles.stream_entry
"""

UPSERT_STORY = """
INSERT INTO stories (story_id, canonical_id, canonical_title, canonical_entry, size, sources,
    first_seen, last_seen)
VALUES (?, ?, '', ?, ?, ?, ?, ?)
ON CONFLICT (story_id) DO UPDATE SET
    size = excluded.size, sources = excluded.sources,
    first_seen = excluded.first_seen, last_seen = excluded.last_seen,
    canonical_id = CASE WHEN excluded.canonical_entry >= stories.canonical_entry
        THEN excluded.canonical_id ELSE stories.canonical_id END,
    canonical_entry = CASE WHEN excluded.canonical_entry >= stories.canonical_entry
        THEN excluded.canonical_entry ELSE stories.canonical_entry END
"""

REFRESH_TITLE = """
UPDATE stories SET canonical_title = COALESCE(
    (SELECT title FROM articles WHERE articles.id = stories.canonical_id), '')
WHERE story_id = ?
"""


class Tx(Protocol):
    """One open transaction: the two calls the store logic needs from a driver."""

    def run(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Execute one statement; return its rows (empty for writes)."""

    def run_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Execute one statement per parameter row (drivers batch these)."""


def chunks(values: Sequence[str], size: int = IN_CHUNK) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def marks(count: int) -> str:
    return ", ".join("?" * count)


class Store(ABC):
    """Migrations, idempotent batch upserts and read queries over one SQL connection."""

    dialect: str
    placeholder = "?"

    # -- what a backend provides ---------------------------------------------------------

    @abstractmethod
    def transaction(self) -> AbstractContextManager[Tx]:
        """A write transaction; commits on exit, rolls back on an exception."""

    @abstractmethod
    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """One read statement in the driver's placeholder style, outside write transactions."""

    @abstractmethod
    def close(self) -> None: ...

    def lock_migrations(self, tx: Tx) -> None:
        """Serialize concurrent migrators (replicas starting together); no-op by default."""
        del tx

    def lock_stories(self, tx: Tx, story_ids: Sequence[str]) -> None:
        """Serialize concurrent writers of the same stories; no-op where writers are serial."""
        del tx, story_ids

    # -- helpers ---------------------------------------------------------------------------

    def sql(self, statement: str) -> str:
        """The statement in the driver's placeholder style."""
        if self.placeholder == "?":
            return statement
        return statement.replace("?", self.placeholder)

    def _run(self, tx: Tx, statement: str, params: Sequence[Any] = ()) -> list[Row]:
        return tx.run(self.sql(statement), params)

    def query(self, statement: str, params: Sequence[Any] = ()) -> list[Row]:
        """One read statement written with ``?`` placeholders."""
        return self.fetch(self.sql(statement), params)

    # -- migrations ------------------------------------------------------------------------

    def migrate(self) -> int:
        """Apply pending migrations, each once and in order; returns the schema version."""
        with self.transaction() as tx:
            self.lock_migrations(tx)
            self._run(
                tx,
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
            )
            done = {int(row[0]) for row in self._run(tx, "SELECT version FROM schema_migrations")}
            for version, name, statements in MIGRATIONS:
                if version in done:
                    continue
                for statement in statements:
                    self._run(tx, statement)
                self._run(
                    tx,
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (version, name, now_iso()),
                )
        return LATEST_VERSION

    def schema_version(self) -> int:
        """The applied schema version, 0 for an empty database (readiness checks use this)."""
        try:
            rows = self.query("SELECT MAX(version) FROM schema_migrations")
        except Exception:
            return 0
        return int(rows[0][0] or 0) if rows else 0

    def ping(self) -> bool:
        try:
            return self.query("SELECT 1") == [(1,)]
        except Exception:
            return False

    # -- write side ------------------------------------------------------------------------

    def upsert(self, rows: Sequence[tuple[str, AnnotatedArticle]]) -> None:
        """Store a batch of (stream entry id, article) in one transaction."""
        if not rows:
            return
        stored_at = now_iso()
        params = sorted(
            (
                (
                    article.id,
                    article.story_id,
                    article.source,
                    article.url,
                    article.title,
                    article.lang,
                    iso_or_none(article.published_at),
                    iso(article.received_at),
                    article.word_count,
                    article.text_sha256,
                    article.method.value,
                    article.score,
                    article.duplicate_of,
                    article.text,
                    sortable_entry_id(entry_id),
                    stored_at,
                )
                for entry_id, article in rows
            ),
            key=lambda p: (p[0], p[14]),  # one lock order for every writer: no deadlocks
        )
        latest: dict[str, tuple[str, str]] = {}
        for entry_id, article in rows:
            entry = sortable_entry_id(entry_id)
            if article.story_id not in latest or latest[article.story_id][0] < entry:
                latest[article.story_id] = (entry, article.canonical_id)
        with self.transaction() as tx:
            previous = self._current_stories(tx, sorted({p[0] for p in params}))
            touched = sorted(set(latest) | set(previous))
            self.lock_stories(tx, touched)
            tx.run_many(self.sql(UPSERT_ARTICLE), params)
            items = item_rows(article for _, article in rows)
            if items:
                tx.run_many(self.sql(UPDATE_ITEM), items)
            self._refresh_stories(tx, touched, latest)

    def _current_stories(self, tx: Tx, article_ids: Sequence[str]) -> set[str]:
        """Stories the articles belong to now: they must be refreshed if an article moves."""
        found: set[str] = set()
        for part in chunks(article_ids):
            found.update(
                row[0]
                for row in self._run(
                    tx,
                    f"SELECT story_id FROM articles WHERE id IN ({marks(len(part))})",  # noqa: S608
                    part,
                )
            )
        return found

    def _refresh_stories(
        self, tx: Tx, story_ids: Sequence[str], latest: dict[str, tuple[str, str]]
    ) -> None:
        members: dict[str, list[Row]] = {story_id: [] for story_id in story_ids}
        for part in chunks(story_ids):
            for row in self._run(
                tx,
                "SELECT story_id, source, received_at, stream_entry, id FROM articles "  # noqa: S608
                f"WHERE story_id IN ({marks(len(part))})",
                part,
            ):
                members[row[0]].append(row)
        upserts: list[tuple[Any, ...]] = []
        for story_id, rows in members.items():
            if not rows:
                self._run(tx, "DELETE FROM stories WHERE story_id = ?", (story_id,))
                continue
            if story_id in latest:
                entry, canonical_id = latest[story_id]
            else:  # only lost a member (moved by a merge): entry '' keeps the stored canonical
                entry, canonical_id = "", min(rows, key=lambda r: r[3])[4]
            upserts.append(
                (
                    story_id,
                    canonical_id,
                    entry,
                    len(rows),
                    "\n".join(sorted({r[1] for r in rows})),
                    min(r[2] for r in rows),
                    max(r[2] for r in rows),
                )
            )
        if upserts:
            tx.run_many(self.sql(UPSERT_STORY), upserts)
            tx.run_many(self.sql(REFRESH_TITLE), [(u[0],) for u in upserts])

    # -- read side -------------------------------------------------------------------------

    def count_articles(self) -> int:
        return int(self.query("SELECT COUNT(*) FROM articles")[0][0])

    def stories(
        self, query: StoryQuery | None = None, *, limit: int | None = None, offset: int = 0
    ) -> list[Story]:
        """Stories newest first (by last seen), filtered and paginated."""
        query = query or StoryQuery()
        where, params = self._story_filter(query)
        rows = self.query(
            f"SELECT {STORY_COLUMNS} FROM stories{where} "  # noqa: S608
            "ORDER BY last_seen DESC, story_id LIMIT ? OFFSET ?",
            (*params, limit if limit is not None else query.limit, offset or query.offset),
        )
        return [story_from_row(row) for row in rows]

    def count_stories(self, query: StoryQuery | None = None) -> int:
        where, params = self._story_filter(query or StoryQuery())
        return int(self.query(f"SELECT COUNT(*) FROM stories{where}", params)[0][0])  # noqa: S608

    @staticmethod
    def _story_filter(query: StoryQuery) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if query.since is not None:
            clauses.append("last_seen >= ?")
            params.append(query.since)
        if query.until is not None:
            clauses.append("first_seen < ?")
            params.append(query.until)
        if query.min_size is not None:
            clauses.append("size >= ?")
            params.append(query.min_size)
        for column, value in (("source", query.source), ("lang", query.lang)):
            if value is not None:
                clauses.append(  # column is one of two literals above, never input
                    "EXISTS (SELECT 1 FROM articles a WHERE a.story_id = stories.story_id "  # noqa: S608
                    f"AND a.{column} = ?)"
                )
                params.append(value)
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), params

    def story(self, story_id: str) -> Story | None:
        rows = self.query(
            f"SELECT {STORY_COLUMNS} FROM stories WHERE story_id = ?",  # noqa: S608
            (story_id,),
        )
        return story_from_row(rows[0]) if rows else None

    def members(self, story_id: str) -> list[StoredArticle]:
        """A story's articles in stream order: the first is the one that opened the story."""
        rows = self.query(
            f"SELECT {ARTICLE_COLUMNS} FROM articles WHERE story_id = ? "  # noqa: S608
            "ORDER BY stream_entry, id",
            (story_id,),
        )
        return [article_from_row(row) for row in rows]

    def article(self, article_id: str) -> StoredArticle | None:
        rows = self.query(
            f"SELECT {ARTICLE_COLUMNS} FROM articles WHERE id = ?",  # noqa: S608
            (article_id,),
        )
        return article_from_row(rows[0]) if rows else None

    def article_text(self, article_id: str) -> str | None:
        rows = self.query("SELECT text FROM articles WHERE id = ?", (article_id,))
        return str(rows[0][0]) if rows else None


def story_from_row(row: Row) -> Story:
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


def article_from_row(row: Row) -> StoredArticle:
    (
        article_id,
        story_id,
        source,
        url,
        title,
        lang,
        published_at,
        received_at,
        word_count,
        method,
        score,
        duplicate_of,
    ) = row[:12]
    return StoredArticle(
        id=article_id,
        story_id=story_id,
        source=source,
        url=url,
        title=title,
        lang=lang,
        published_at=published_at,
        received_at=received_at,
        word_count=int(word_count),
        method=method,
        score=float(score),
        duplicate_of=duplicate_of,
        **item_values(row[12:]),
    )

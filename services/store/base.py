"""The store's logic, written once for every SQL backend.

A backend (:mod:`services.store.sqlite`, :mod:`services.store.postgres`) only knows how to open
a connection, run a transaction and lock; everything that decides *what* is stored lives here,
so SQLite and PostgreSQL cannot drift apart and one test suite covers both.

Write path, one transaction per batch (``upsert``):

1. upsert every article by id; a row changes only for a *later* stream entry
   (``stream_entry`` is the padded entry id), so a redelivered or reclaimed old message cannot
   overwrite a newer verdict: this is what makes the store idempotent;
2. record the story revisions the entries report (:mod:`services.store.revisions`);
3. recompute the status and current flag of every version of each item the batch touched
   (:func:`services.store.lifecycle.resolve_item`), from all its stored versions, so the answer
   does not depend on the order entries arrived in;
4. recompute the aggregates (live size, sources, first/last seen, status) of every story the
   batch touched, including the story an article *left* when dedupe moved it (a merge) and the
   stories of versions whose status changed, and delete stories left empty;
5. take the canonical article from the story's latest revision (else the newest entry of the
   story), replaced by a live member if it is withdrawn, and its title from the articles table
   (so a canonical stored later still gets its title).

SQL is written with ``?`` placeholders; :meth:`Store.sql` rewrites them for drivers that use
``%s``. Statements avoid anything SQLite or PostgreSQL would read differently.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from services.store.items import ITEM_COLUMNS, UPDATE_ITEM, item_rows, item_values
from services.store.lifecycle import (
    LIVE,
    Member,
    Version,
    choose_canonical,
    own_status,
    resolve_item,
    story_status,
)
from services.store.models import ArticleVersion, StoredArticle, Story, StoryQuery, StoryRevision
from services.store.revisions import (
    REVISION_COLUMNS,
    UPSERT_REVISION,
    revision_from_row,
    revision_rows,
)
from services.store.schema import MIGRATIONS
from services.store.timefmt import iso, iso_or_none, now_iso, sortable_entry_id
from wiredesk.messages import AnnotatedArticle, AnnotatedArticleV2, ItemFields

Row = tuple[Any, ...]

ARTICLE_COLUMNS = (
    "id, story_id, source, url, title, lang, published_at, received_at, word_count, "
    "method, score, duplicate_of"
)
ARTICLE_COLUMNS += ", " + ", ".join(ITEM_COLUMNS)
ARTICLE_COLUMNS += ", status, is_current, item_change, supersedes"
STORY_COLUMNS = (
    "story_id, canonical_id, canonical_title, size, sources, first_seen, last_seen, status, "
    "revision"
)
VERSION_COLUMNS = "id, version, status, is_current, received_at, story_id, item_change, supersedes"
LATEST_VERSION = max(version for version, _, _ in MIGRATIONS)
IN_CHUNK = 500  # parameters per IN (...) list, far below SQLite's and PostgreSQL's limits

UPSERT_ARTICLE = """
INSERT INTO articles (id, story_id, source, url, title, lang, published_at, received_at,
    word_count, text_sha256, method, score, duplicate_of, text, stream_entry, stored_at,
    item_change, supersedes, status, is_current)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)
ON CONFLICT (id) DO UPDATE SET
    story_id = excluded.story_id, method = excluded.method, score = excluded.score,
    duplicate_of = excluded.duplicate_of, stream_entry = excluded.stream_entry,
    stored_at = excluded.stored_at, item_change = excluded.item_change,
    supersedes = excluded.supersedes
WHERE excluded.stream_entry > articles.stream_entry
"""

UPSERT_STORY = """
INSERT INTO stories (story_id, canonical_id, canonical_title, canonical_entry, size, sources,
    first_seen, last_seen, status, revision)
VALUES (?, ?, '', ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (story_id) DO UPDATE SET
    canonical_id = excluded.canonical_id, canonical_entry = excluded.canonical_entry,
    size = excluded.size, sources = excluded.sources,
    first_seen = excluded.first_seen, last_seen = excluded.last_seen,
    status = excluded.status, revision = excluded.revision
"""

SET_STATUS = "UPDATE articles SET status = ?, is_current = ? WHERE id = ?"
VERSION_ROW = "id, source, guid, item_change, supersedes, pub_status, stream_entry, status, "
VERSION_ROW += "is_current, story_id"

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


def _preferred(
    members: dict[str, list[Row]],
    stored: dict[str, tuple[str, str]],
    last: dict[str, tuple[int, str, str]],
    latest: dict[str, tuple[str, str]],
) -> dict[str, tuple[str, str]]:
    """Each non-empty story's preferred canonical and the entry it came from: the latest
    revision's canonical when the story has revisions, else (as before revisions) the newest
    entry's; :func:`~services.store.lifecycle.choose_canonical` then checks it is live."""
    preferred: dict[str, tuple[str, str]] = {}
    for story_id, rows in members.items():
        if not rows:
            continue
        if story_id in latest and (
            story_id not in stored or latest[story_id][0] >= stored[story_id][1]
        ):
            canonical, entry = latest[story_id][1], latest[story_id][0]
        elif story_id in stored:
            canonical, entry = stored[story_id]
        else:  # only lost a member (moved by a merge): the first member stands in
            canonical, entry = min(rows, key=lambda r: (r[3], r[4]))[4], ""
        if story_id in last:  # dedupe's own account of the canonical wins
            canonical = last[story_id][2]
        preferred[story_id] = (canonical, entry)
    return preferred


def _lifecycle(article: AnnotatedArticle) -> tuple[str | None, str | None, str]:
    """``item_change``, ``supersedes`` and the status a new row starts with (the batch's item
    resolution then sets the status from all the item's versions)."""
    if not isinstance(article, AnnotatedArticleV2):
        return None, None, LIVE
    return article.change, article.supersedes, own_status(article.change, article.pub_status)


def item_of(article: AnnotatedArticle) -> tuple[str, str] | None:
    """The item (``source``, ``guid``) an article is a version of; None without a guid."""
    if isinstance(article, ItemFields) and article.guid:
        return article.source, article.guid
    return None


def item_lock(item: tuple[str, str]) -> str:
    """The lock name of an item (``source`` + ``guid``): writers of its versions queue on it,
    so two batches never resolve the same item from different sets of versions."""
    return "item\x1f" + "\x1f".join(item)


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
        """Serialize concurrent writers of the same stories (or items, named by
        :func:`item_lock`); no-op where writers are serial."""
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
                    *_lifecycle(article),
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
        items = sorted({item for _, article in rows if (item := item_of(article)) is not None})
        plain = sorted({a.id for _, a in rows if item_of(a) is None})
        with self.transaction() as tx:
            previous = self._current_stories(tx, sorted({p[0] for p in params}))
            previous |= {row[9] for row in self._versions_of(tx, items)}
            touched = set(latest) | previous
            # items first, then stories: a batch that later finds a version in a story it has
            # not locked (below) holds no story lock another writer of that item waits behind
            self.lock_stories(tx, [item_lock(item) for item in items])
            self.lock_stories(tx, sorted(touched))
            tx.run_many(self.sql(UPSERT_ARTICLE), params)
            updates = item_rows(article for _, article in rows)
            if updates:
                tx.run_many(self.sql(UPDATE_ITEM), updates)
            revisions = revision_rows(rows)
            if revisions:
                tx.run_many(self.sql(UPSERT_REVISION), revisions)
            changed = self._resolve_items(tx, items, plain) - touched
            if changed:  # a version moved to a story this batch had not locked (rare)
                self.lock_stories(tx, sorted(changed))
            self._refresh_stories(tx, sorted(touched | changed), latest)

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

    def _versions_of(self, tx: Tx, items: Sequence[tuple[str, str]]) -> list[Row]:
        """Every stored version (VERSION_ROW columns) of these items."""
        wanted = set(items)
        found: list[Row] = []
        for part in chunks(sorted({guid for _, guid in items})):
            found.extend(
                row
                for row in self._run(
                    tx,
                    f"SELECT {VERSION_ROW} FROM articles "  # noqa: S608
                    f"WHERE guid IN ({marks(len(part))})",
                    part,
                )
                if (row[1], row[2]) in wanted
            )
        return found

    def _resolve_items(
        self, tx: Tx, items: Sequence[tuple[str, str]], plain: Sequence[str]
    ) -> set[str]:
        """Set status and current flag of every version of the batch's items (and of its
        articles without a guid, each an item of one version); returns the stories of the rows
        that changed, which must be refreshed too."""
        groups: dict[tuple[str, str], list[Row]] = {}
        for row in self._versions_of(tx, items):
            groups.setdefault((row[1], row[2]), []).append(row)
        for part in chunks(plain):
            for row in self._run(
                tx,
                f"SELECT {VERSION_ROW} FROM articles "  # noqa: S608
                f"WHERE guid IS NULL AND id IN ({marks(len(part))})",
                part,
            ):
                groups[("", row[0])] = [row]
        updates: list[tuple[str, int, str]] = []
        stories: set[str] = set()
        for versions in groups.values():
            resolved = resolve_item(
                [
                    Version(
                        id=r[0], change=r[3], supersedes=r[4], pub_status=r[5], stream_entry=r[6]
                    )
                    for r in versions
                ]
            )
            for row in versions:
                status, current = resolved[row[0]]
                if (status, current) != (row[7], bool(row[8])):
                    updates.append((status, int(current), row[0]))
                    stories.add(row[9])
        if updates:
            tx.run_many(self.sql(SET_STATUS), sorted(updates, key=lambda u: u[2]))
        return stories

    def _refresh_stories(
        self, tx: Tx, story_ids: Sequence[str], latest: dict[str, tuple[str, str]]
    ) -> None:
        members, stored, last = self._story_state(tx, story_ids)
        preferred = _preferred(members, stored, last, latest)
        status_of = self._statuses(tx, sorted({c for c, _ in preferred.values()}), members)
        upserts: list[tuple[Any, ...]] = []
        for story_id, rows in members.items():
            if not rows:
                self._run(tx, "DELETE FROM stories WHERE story_id = ?", (story_id,))
                continue
            canonical, entry = preferred[story_id]
            canonical = choose_canonical(
                canonical,
                [Member(r[4], (r[1], r[6]) if r[6] else ("", r[4]), r[5], r[3]) for r in rows],
                preferred_status=status_of.get(canonical),
            )
            live = [r for r in rows if r[5] == LIVE]
            revision = last.get(story_id)
            upserts.append(
                (
                    story_id,
                    canonical,
                    entry,
                    len(live),
                    "\n".join(sorted({r[1] for r in (live or rows)})),
                    min(r[2] for r in rows),
                    max(r[2] for r in rows),
                    story_status((r[5] for r in rows), revision[1] if revision else None),
                    revision[0] if revision else None,
                )
            )
        if upserts:
            tx.run_many(self.sql(UPSERT_STORY), upserts)
            tx.run_many(self.sql(REFRESH_TITLE), [(u[0],) for u in upserts])

    def _story_state(
        self, tx: Tx, story_ids: Sequence[str]
    ) -> tuple[dict[str, list[Row]], dict[str, tuple[str, str]], dict[str, tuple[int, str, str]]]:
        """Per story: its article rows, its stored (canonical, canonical entry), and its latest
        revision's (revision, event, canonical)."""
        members: dict[str, list[Row]] = {story_id: [] for story_id in story_ids}
        stored: dict[str, tuple[str, str]] = {}
        last: dict[str, tuple[int, str, str]] = {}
        for part in chunks(story_ids):
            where = f"story_id IN ({marks(len(part))})"
            for row in self._run(
                tx,
                "SELECT story_id, source, received_at, stream_entry, id, status, guid "  # noqa: S608
                f"FROM articles WHERE {where}",
                part,
            ):
                members[row[0]].append(row)
            for row in self._run(
                tx,
                f"SELECT story_id, canonical_id, canonical_entry FROM stories WHERE {where}",  # noqa: S608
                part,
            ):
                stored[row[0]] = (row[1], row[2])
            for row in self._run(
                tx,
                "SELECT story_id, revision, event, canonical_id FROM story_revisions r "  # noqa: S608
                f"WHERE {where} AND revision = (SELECT MAX(m.revision) FROM story_revisions m "
                "WHERE m.story_id = r.story_id)",
                part,
            ):
                last[row[0]] = (int(row[1]), row[2], row[3])
        return members, stored, last

    def _statuses(
        self, tx: Tx, article_ids: Sequence[str], members: dict[str, list[Row]]
    ) -> dict[str, str]:
        """The stored status of each of these articles (absent: not stored)."""
        known = {r[4]: r[5] for rows in members.values() for r in rows}
        found = {a: known[a] for a in article_ids if a in known}
        missing = [a for a in article_ids if a not in known]
        for part in chunks(missing):
            for row in self._run(
                tx,
                f"SELECT id, status FROM articles WHERE id IN ({marks(len(part))})",  # noqa: S608
                part,
            ):
                found[row[0]] = row[1]
        return found

    # -- read side -------------------------------------------------------------------------

    def count_articles(self) -> int:
        return int(self.query("SELECT COUNT(*) FROM articles")[0][0])

    def stored_at(self, article_ids: Sequence[str]) -> dict[str, str]:
        """When the store last wrote each of these articles: ``id -> stored_at`` (ISO 8601
        UTC, the store host's clock; what latency measurements compare entry ids with).
        Articles not stored are absent."""
        found: dict[str, str] = {}
        for part in chunks(list(dict.fromkeys(article_ids))):
            rows = self.query(
                f"SELECT id, stored_at FROM articles WHERE id IN ({marks(len(part))})",  # noqa: S608
                part,
            )
            found.update((str(row[0]), str(row[1])) for row in rows)
        return found

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
        if query.status is not None:
            clauses.append("status = ?")
            params.append(query.status)
        live = " AND a.status = 'live'" if query.status == LIVE else ""  # a live member's
        for column, value in (("source", query.source), ("lang", query.lang)):
            if value is not None:
                clauses.append(  # column is one of two literals above, never input
                    "EXISTS (SELECT 1 FROM articles a WHERE a.story_id = stories.story_id "  # noqa: S608
                    f"AND a.{column} = ?{live})"
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
        """Every article filed under a story (any status) in stream order: the first is the one
        that opened the story. The live members are those with ``status == 'live'``."""
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

    def versions(self, article_id: str) -> list[ArticleVersion]:
        """Every stored version of the article's item (``source`` + ``guid``) in stream order;
        an article without a guid is its item's only version; [] for an unknown article."""
        rows = self.query("SELECT source, guid FROM articles WHERE id = ?", (article_id,))
        if not rows:
            return []
        source, guid = rows[0]
        where, params = (
            ("id = ?", [article_id])
            if guid is None
            else (
                "source = ? AND guid = ?",
                [source, guid],
            )
        )
        found = self.query(
            f"SELECT {VERSION_COLUMNS} FROM articles WHERE {where} ORDER BY stream_entry, id",  # noqa: S608
            params,
        )
        return [
            ArticleVersion(
                id=r[0],
                version=r[1],
                status=r[2],
                current=bool(r[3]),
                received_at=r[4],
                story_id=r[5],
                change=r[6],
                supersedes=r[7],
            )
            for r in found
        ]

    def revisions(self, story_id: str) -> list[StoryRevision]:
        """The story's revision history, oldest first (empty for a story without any)."""
        rows = self.query(
            f"SELECT {REVISION_COLUMNS} FROM story_revisions WHERE story_id = ? "  # noqa: S608
            "ORDER BY revision",
            (story_id,),
        )
        return [revision_from_row(row) for row in rows]


def story_from_row(row: Row) -> Story:
    story_id, canonical_id, title, size, sources, first_seen, last_seen, status, revision = row
    return Story(
        story_id=story_id,
        canonical_id=canonical_id,
        canonical_title=title,
        size=int(size),
        sources=[s for s in str(sources).split("\n") if s],
        first_seen=first_seen,
        last_seen=last_seen,
        status=status,
        revision=None if revision is None else int(revision),
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
        **item_values(row[12 : 12 + len(ITEM_COLUMNS)]),
        **lifecycle_values(row[12 + len(ITEM_COLUMNS) :]),
    )


def lifecycle_values(row: Sequence[Any]) -> dict[str, Any]:
    """The StoredArticle fields of the lifecycle columns (status, is_current, change, ...)."""
    status, is_current, change, supersedes = row
    return {
        "status": status,
        "current": bool(is_current),
        "change": change,
        "supersedes": supersedes,
    }

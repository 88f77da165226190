"""The store's tables, as an ordered list of migrations the project owns.

Each migration runs once, in order, inside a transaction, and is recorded in
``schema_migrations``; a database is upgraded by starting any store process. Statements are
plain SQL that SQLite and PostgreSQL both accept.
"""

from __future__ import annotations

MIGRATIONS: tuple[tuple[int, str, tuple[str, ...]], ...] = (
    (
        1,
        "stories and articles",
        (
            """
            CREATE TABLE IF NOT EXISTS stories (
                story_id TEXT PRIMARY KEY,
                canonical_id TEXT NOT NULL,
                canonical_title TEXT NOT NULL,
                canonical_entry TEXT NOT NULL,
                size INTEGER NOT NULL,
                sources TEXT NOT NULL,
                first_seen TEXT NOT NULL,
                last_seen TEXT NOT NULL
            )
            """,
            """
            CREATE TABLE IF NOT EXISTS articles (
                id TEXT PRIMARY KEY,
                story_id TEXT NOT NULL,
                source TEXT NOT NULL,
                url TEXT NOT NULL,
                title TEXT NOT NULL,
                lang TEXT NOT NULL,
                published_at TEXT,
                received_at TEXT NOT NULL,
                word_count INTEGER NOT NULL,
                text_sha256 TEXT NOT NULL,
                method TEXT NOT NULL,
                score REAL NOT NULL,
                duplicate_of TEXT,
                text TEXT NOT NULL,
                stream_entry TEXT NOT NULL,
                stored_at TEXT NOT NULL
            )
            """,
            "CREATE INDEX IF NOT EXISTS articles_story_id ON articles (story_id)",
            "CREATE INDEX IF NOT EXISTS stories_last_seen ON stories (last_seen)",
        ),
    ),
    (
        2,
        "wire item metadata (article.v2)",
        (
            *(
                f"ALTER TABLE articles ADD COLUMN {column} {kind}"
                for column, kind in (
                    ("guid", "TEXT"),
                    ("version", "TEXT"),
                    ("version_created", "TEXT"),
                    ("pub_status", "TEXT"),
                    ("embargoed", "TEXT"),
                    ("urgency", "INTEGER"),
                    ("language", "TEXT"),
                    ("byline", "TEXT"),
                    ("located", "TEXT"),
                    ("subjects", "TEXT"),
                    ("provider", "TEXT"),
                    ("format", "TEXT"),
                )
            ),
            "CREATE INDEX IF NOT EXISTS articles_guid ON articles (guid)",
        ),
    ),
    (
        3,
        "item lifecycle and story revisions (annotated.v2 change, story_*)",
        (
            # every row stored before this is what it was: a live, current article
            "ALTER TABLE articles ADD COLUMN status TEXT NOT NULL DEFAULT 'live'",
            "ALTER TABLE articles ADD COLUMN is_current INTEGER NOT NULL DEFAULT 1",
            "ALTER TABLE articles ADD COLUMN item_change TEXT",
            "ALTER TABLE articles ADD COLUMN supersedes TEXT",
            "ALTER TABLE stories ADD COLUMN status TEXT NOT NULL DEFAULT 'live'",
            "ALTER TABLE stories ADD COLUMN revision INTEGER",
            """
            CREATE TABLE IF NOT EXISTS story_revisions (
                story_id TEXT NOT NULL,
                revision INTEGER NOT NULL,
                event TEXT NOT NULL,
                members INTEGER,
                canonical_id TEXT NOT NULL,
                cause_id TEXT NOT NULL,
                cause_change TEXT NOT NULL,
                decided_at TEXT NOT NULL,
                stream_entry TEXT NOT NULL,
                PRIMARY KEY (story_id, revision)
            )
            """,
            "CREATE INDEX IF NOT EXISTS articles_item ON articles (source, guid)",
            "CREATE INDEX IF NOT EXISTS stories_status ON stories (status, last_seen)",
        ),
    ),
)

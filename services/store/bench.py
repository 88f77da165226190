"""Stored articles per second, batched upserts, on SQLite and PostgreSQL.

    python -m services.store.bench [--articles 20000] [--batch 200] [--postgres URL]

Measures the store alone (no Redis): the same ``Store.upsert`` the store service calls once per
batch, on synthetic annotated articles in stories of ~4 members. Without ``--postgres`` and
``DATABASE_URL`` it starts a private PostgreSQL from the ``pgserver`` package (a dev
dependency), as the test suite does.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from services.store.db import open_store
from services.store.postgres import is_postgres_url
from wiredesk.messages import AnnotatedArticle, Method

TEXT = "A wire report of moderate length. " * 60


def synthetic(n: int) -> list[tuple[str, AnnotatedArticle]]:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    rows = []
    for i in range(n):
        story = f"s{i // 4}"
        rows.append(
            (
                f"{1_700_000_000_000 + i}-0",
                AnnotatedArticle(
                    id=f"a{i}",
                    source=f"source{i % 7}",
                    url=f"https://example.org/{i}",
                    received_at=start + timedelta(seconds=i),
                    title=f"title {i}",
                    lang="en",
                    text=TEXT,
                    text_sha256=f"{i:064x}",
                    word_count=360,
                    story_id=story,
                    duplicate_of=None if i % 4 == 0 else story,
                    method=Method.NEW if i % 4 == 0 else Method.NEAR,
                    score=1.0 if i % 4 == 0 else 0.8,
                    canonical_id=f"a{i - i % 4}",
                ),
            )
        )
    return rows


def measure(url: str, rows: list[tuple[str, AnnotatedArticle]], batch: int) -> float:
    store = open_store(url)
    try:
        store.migrate()
        began = time.perf_counter()
        for offset in range(0, len(rows), batch):
            store.upsert(rows[offset : offset + batch])
        elapsed = time.perf_counter() - began
        assert store.count_articles() == len(rows)
    finally:
        store.close()
    return len(rows) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--articles", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--postgres", default=os.environ.get("DATABASE_URL", ""))
    args = parser.parse_args()
    rows = synthetic(args.articles)
    with tempfile.TemporaryDirectory() as tmp:
        rate = measure(f"sqlite:///{Path(tmp) / 'bench.db'}", rows, args.batch)
        print(
            f"sqlite      {rate:10,.0f} articles/s  ({args.articles} articles, batch {args.batch})"
        )
        server: Any = None
        url = args.postgres
        if not is_postgres_url(url):  # a private server and a fresh database
            import pgserver

            server = pgserver.get_server(Path(tmp) / "pg", cleanup_mode="stop")  # type: ignore[attr-defined]
            name = f"bench_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(server.get_uri(), autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"'.encode())
            url = str(server.get_uri(name))
        try:
            rate = measure(url, rows, args.batch)
            print(f"postgresql  {rate:10,.0f} articles/s  ({args.articles}, batch {args.batch})")
        finally:
            if server is not None:
                server.cleanup()


if __name__ == "__main__":
    main()

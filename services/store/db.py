"""Open the store named by a ``DATABASE_URL``; the backend is chosen from the URL's scheme.

``sqlite:///PATH`` (the default) opens :class:`~services.store.sqlite.SqliteStore`;
``postgresql://...`` opens :class:`~services.store.postgres.PostgresStore`. Callers hold a
:class:`~services.store.base.Store` and never branch on the backend.

The store's types live where they are defined: ``services.store.models`` (``StoredArticle``,
``Story``, ``StoryQuery``), ``services.store.sqlite``, ``services.store.postgres``.
"""

from __future__ import annotations

from services.store.base import Store
from services.store.postgres import PostgresStore, is_postgres_url
from services.store.sqlite import SqliteStore

__all__ = ["open_store"]


def open_store(database_url: str) -> Store:
    """The store behind ``database_url``; raises ValueError for an unknown scheme."""
    if database_url.startswith("sqlite:///"):
        return SqliteStore.from_url(database_url)
    if is_postgres_url(database_url):
        return PostgresStore.from_url(database_url)
    raise ValueError(
        f"unsupported DATABASE_URL {database_url!r}: use sqlite:///PATH or postgresql://..."
    )

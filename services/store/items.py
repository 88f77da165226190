"""The wire item's metadata columns (article.v2): what is written and how it is read back.

Kept apart from the article upsert: an item's metadata is fixed for its id (the id is derived
from ``guid`` + ``version``), so it is written with a plain UPDATE after the upsert, which is
idempotent however often the entry is redelivered. Timestamps are ISO-8601 UTC text and
``subjects`` is JSON, so SQLite and PostgreSQL store the same values.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from services.store.timefmt import iso_or_none
from wiredesk.messages import AnnotatedArticle, ItemFields

__all__ = ["ITEM_COLUMNS", "UPDATE_ITEM", "item_rows", "item_values"]

ITEM_COLUMNS = (
    "guid",
    "version",
    "pub_status",
    "language",
    "version_created",
    "embargoed",
    "urgency",
    "byline",
    "located",
    "provider",
    "format",
    "subjects",
)

_ASSIGNMENTS = ", ".join(f"{column} = ?" for column in ITEM_COLUMNS)
UPDATE_ITEM = f"UPDATE articles SET {_ASSIGNMENTS} WHERE id = ?"  # noqa: S608 - literal columns


def item_rows(articles: Iterable[AnnotatedArticle]) -> list[tuple[Any, ...]]:
    """UPDATE parameters for the v2 articles of a batch (v1 articles have no item fields)."""
    rows: list[tuple[Any, ...]] = []
    for article in articles:
        if not isinstance(article, ItemFields):
            continue
        rows.append(
            (
                article.guid,
                article.version,
                article.pub_status,
                article.language,
                iso_or_none(article.version_created),
                iso_or_none(article.embargoed),
                article.urgency,
                article.byline,
                article.located,
                article.provider,
                article.format,
                orjson.dumps([s.model_dump() for s in article.subjects]).decode(),
                article.id,
            )
        )
    return sorted(rows, key=lambda r: r[-1])  # one lock order for every writer


def item_values(row: Sequence[Any]) -> dict[str, Any]:
    """The StoredArticle fields of the item columns of one row."""
    values = dict(zip(ITEM_COLUMNS, row, strict=True))
    if values["urgency"] is not None:
        values["urgency"] = int(values["urgency"])
    subjects = values["subjects"]
    values["subjects"] = orjson.loads(subjects) if subjects else None
    return values

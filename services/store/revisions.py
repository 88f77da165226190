"""A story's revision history, from the ``story_*`` fields of annotated.v2 entries.

Dedupe writes one ``story.v1`` event per change of a story and repeats it on the annotated
entry that caused it (``story_event``, ``story_revision``, ``story_members``, ``canonical_id``),
so the store keeps the history without reading ``articles:stories``. Rows are keyed
``(story_id, revision)``: a redelivered entry writes the same row again, and if two entries
ever claimed one revision the earlier stream entry wins, whatever order they arrive in. The
story's state is read from its *highest* revision (``MAX``), so a lower revision that arrives
late never overwrites a higher one. Entries without these fields (annotated.v1, or v2 before
dedupe fills them) add no row, and the story is kept exactly as before revisions existed.

Only the events an annotated entry carries reach this table: one about another story (the
story an item left when its new version was filed elsewhere) is on ``articles:stories`` only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from services.store.models import StoryRevision
from services.store.timefmt import entry_time, sortable_entry_id
from wiredesk.messages import AnnotatedArticle, AnnotatedArticleV2

__all__ = ["REVISION_COLUMNS", "UPSERT_REVISION", "revision_from_row", "revision_rows"]

REVISION_COLUMNS = (
    "story_id, revision, event, members, canonical_id, cause_id, cause_change, decided_at"
)

UPSERT_REVISION = """
INSERT INTO story_revisions (story_id, revision, event, members, canonical_id, cause_id,
    cause_change, decided_at, stream_entry)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (story_id, revision) DO UPDATE SET
    event = excluded.event, members = excluded.members, canonical_id = excluded.canonical_id,
    cause_id = excluded.cause_id, cause_change = excluded.cause_change,
    decided_at = excluded.decided_at, stream_entry = excluded.stream_entry
WHERE excluded.stream_entry < story_revisions.stream_entry
"""


def revision_rows(rows: Iterable[tuple[str, AnnotatedArticle]]) -> list[tuple[Any, ...]]:
    """UPSERT_REVISION parameters for the entries of a batch that report a story event."""
    found: list[tuple[Any, ...]] = []
    for entry_id, article in rows:
        if not isinstance(article, AnnotatedArticleV2):
            continue
        if article.story_event is None or article.story_revision is None:
            continue
        found.append(
            (
                article.story_id,
                article.story_revision,
                article.story_event,
                article.story_members,
                article.canonical_id,
                article.id,
                article.change,
                entry_time(entry_id),
                sortable_entry_id(entry_id),
            )
        )
    return sorted(found, key=lambda r: (r[0], r[1], r[8]))  # one lock order for every writer


def revision_from_row(row: Sequence[Any]) -> StoryRevision:
    story_id, revision, event, members, canonical_id, cause_id, cause_change, at = row
    return StoryRevision(
        story_id=story_id,
        revision=int(revision),
        event=event,
        members=None if members is None else int(members),
        canonical_id=canonical_id,
        cause_id=cause_id,
        cause_change=cause_change,
        at=at,
    )

"""annotated.v2 entries of items that get new versions, kills and withholds, built by hand.

What dedupe writes for such items is fixed by the contract (wiredesk.messages
AnnotatedArticleV2, story.v1); these tests of the store's side build the entries themselves,
so they do not depend on dedupe's decisions. ``SCENARIO`` is one run, in stream order:

story ``s`` (Reuters item r and AP item p):
  1 r v1 joins, story created (rev 1)          4 r v3 kills r: canonical moves to p (rev 4)
  2 p v1 joins as a copy (rev 2)                5 p v2 kills p: no live member, story killed
  3 r v2 replaces r v1, now canonical (rev 3)
story ``t`` (dpa item x, AFP item y):
  6 x v1 opens it (rev 1)                       8 y v2 (usable) replaces it and is canonical
  7 y v1 arrives withheld: hidden (rev 2)         (rev 3)
story ``u``: one annotated.v1 article (no lifecycle at all), which must not change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from services.store.base import Store
from wiredesk.messages import (
    AnnotatedArticle,
    AnnotatedArticleV2,
    Change,
    Method,
    PubStatus,
    StoryEventKind,
)

T0 = datetime(2026, 12, 3, 9, tzinfo=UTC)


def wire(
    article_id: str,
    story: str,
    *,
    source: str,
    guid: str,
    version: str,
    change: Change,
    event: StoryEventKind,
    revision: int,
    members: int,
    canonical: str,
    supersedes: str | None = None,
    pub_status: PubStatus = "usable",
    minutes: int = 0,
) -> AnnotatedArticleV2:
    """One annotated.v2 entry as dedupe would write it for this item version."""
    return AnnotatedArticleV2(
        id=article_id,
        source=source,
        url=f"https://{source}.example/{article_id}",
        received_at=T0 + timedelta(minutes=minutes),
        title=f"{source} {guid} v{version}",
        lang="en",
        text=f"text of {article_id}",
        text_sha256="0" * 64,
        word_count=3,
        story_id=story,
        duplicate_of=None if article_id == story else story,
        method=Method.NEW if article_id == story else Method.NEAR,
        score=1.0 if article_id == story else 0.8,
        canonical_id=canonical,
        guid=guid,
        version=version,
        version_created=T0 + timedelta(minutes=minutes),
        pub_status=pub_status,
        change=change,
        supersedes=supersedes,
        story_event=event,
        story_revision=revision,
        story_members=members,
    )


R, P, X, Y = "urn:reuters:r", "urn:ap:p", "urn:dpa:x", "urn:afp:y"

SCENARIO: list[tuple[str, AnnotatedArticle]] = [
    (
        "1000-0",
        wire(
            "r1",
            "r1",
            source="reuters",
            guid=R,
            version="1",
            change="added",
            event="created",
            revision=1,
            members=1,
            canonical="r1",
        ),
    ),
    (
        "1001-0",
        wire(
            "p1",
            "r1",
            source="ap",
            guid=P,
            version="1",
            change="added",
            event="updated",
            revision=2,
            members=2,
            canonical="r1",
            minutes=1,
        ),
    ),
    (
        "1002-0",
        wire(
            "r2",
            "r1",
            source="reuters",
            guid=R,
            version="2",
            change="updated",
            supersedes="r1",
            event="updated",
            revision=3,
            members=2,
            canonical="r2",
            minutes=2,
        ),
    ),
    (
        "1003-0",
        wire(
            "r3",
            "r1",
            source="reuters",
            guid=R,
            version="3",
            change="killed",
            supersedes="r2",
            pub_status="canceled",
            event="updated",
            revision=4,
            members=1,
            canonical="p1",
            minutes=3,
        ),
    ),
    (
        "1004-0",
        wire(
            "p2",
            "r1",
            source="ap",
            guid=P,
            version="2",
            change="killed",
            supersedes="p1",
            pub_status="canceled",
            event="killed",
            revision=5,
            members=0,
            canonical="p1",
            minutes=4,
        ),
    ),
    (
        "1005-0",
        wire(
            "x1",
            "x1",
            source="dpa",
            guid=X,
            version="1",
            change="added",
            event="created",
            revision=1,
            members=1,
            canonical="x1",
            minutes=5,
        ),
    ),
    (
        "1006-0",
        wire(
            "y1",
            "x1",
            source="afp",
            guid=Y,
            version="1",
            change="withheld",
            pub_status="withheld",
            event="updated",
            revision=2,
            members=1,
            canonical="x1",
            minutes=6,
        ),
    ),
    (
        "1007-0",
        wire(
            "y2",
            "x1",
            source="afp",
            guid=Y,
            version="2",
            change="updated",
            supersedes="y1",
            event="updated",
            revision=3,
            members=2,
            canonical="y2",
            minutes=7,
        ),
    ),
    (
        "1008-0",
        AnnotatedArticle(
            id="u1",
            source="blog",
            url="https://blog.example/u1",
            received_at=T0 + timedelta(minutes=8),
            title="blog u1",
            lang="en",
            text="text of u1",
            text_sha256="0" * 64,
            word_count=3,
            story_id="u1",
            method=Method.NEW,
            score=1.0,
            canonical_id="u1",
        ),
    ),
]
"""(entry id, article) in stream order; story ``r1`` ends killed, ``x1`` live, ``u1`` v1."""


@dataclass(frozen=True)
class Snapshot:
    """Everything the read side can see, to compare two runs of the same entries."""

    stories: dict[str, Any]
    articles: dict[str, Any]
    revisions: dict[str, Any]


def snapshot(store: Store) -> Snapshot:
    from services.store.models import StoryQuery

    stories = store.stories(StoryQuery(status=None, limit=1000))
    articles = {
        m.id: (m.status, m.current, m.story_id, [v.id for v in store.versions(m.id)])
        for s in stories
        for m in store.members(s.story_id)
    }
    return Snapshot(
        stories={s.story_id: s for s in stories},
        articles=articles,
        revisions={s.story_id: store.revisions(s.story_id) for s in stories},
    )

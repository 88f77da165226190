"""``story.v1``: one entry per change of a story, on ``articles:stories``.

``articles:unique`` tells a consumer about a story once; this stream tells it every change
after that: a story was created, its canonical or membership changed (a copy joined, an item
was replaced by a new version, an item was withdrawn), or it was killed (no live member left).
Dedupe writes each event in the same atomic step as the decision that caused it, so the
stream and the decisions cannot disagree. ``revision`` increases by exactly one per event of
a story, so a consumer keeps a copy current idempotently by ``story_id`` + ``revision``
(docs/consumers.md).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from wiredesk.limits import Identifier, Title, UtcDatetime
from wiredesk.messages import Change, PubStatus, StoryEventKind, WireModel, utcnow

__all__ = ["StoryCanonical", "StoryCause", "StoryEvent"]


class StoryCanonical(WireModel):
    """The story's canonical article after the change."""

    SCHEMA: ClassVar[str] = "story.v1#canonical"
    id: Identifier
    guid: str | None = Field(default=None, max_length=1000)
    version: str | None = Field(default=None, max_length=100)
    title: Title


class StoryCause(WireModel):
    """The item whose arrival caused the change."""

    SCHEMA: ClassVar[str] = "story.v1#cause"
    id: Identifier
    guid: str | None = Field(default=None, max_length=1000)
    version: str | None = Field(default=None, max_length=100)
    pub_status: PubStatus = "usable"
    change: Change


class StoryEvent(WireModel):
    """One change of one story."""

    SCHEMA: ClassVar[str] = "story.v1"
    schema_version: Literal["story.v1"] = Field(default="story.v1", alias="schema")
    event: StoryEventKind
    story_id: Identifier
    revision: int = Field(ge=1, description="+1 per event of this story, from 1 at 'created'")
    members: int = Field(ge=0, description="live (not killed, not withheld) member count")
    canonical: StoryCanonical | None = Field(
        description="the canonical after the change; null once the story is killed"
    )
    cause: StoryCause
    at: UtcDatetime = Field(default_factory=utcnow, description="when dedupe decided it")

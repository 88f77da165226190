"""Wire items' lifecycle in the dedupe window: versions, kills, withheld items, story revisions.

Pure. The state is a function of the dedupe log (``state.py``): every log record carries a
*fact* (what the record did to its item and its story), and every replica applies the same facts
in the same order, so every replica holds the same items, stories, live members and revisions.
A decision is planned against a :class:`Pending` view (the applied state plus the batch decided
so far) and becomes a fact; the fact is committed with the batch and, once read back from the
log, applied to the :class:`Lifecycle` itself. Commits are serialized by the log's head check,
so the revision a replica computes is the one every replica replays.

Item identity is ``(source, guid)``; each version is its own article id. Items without a
``guid`` (plain text, HTML, raw.v1) have no lifecycle: each is a member added once.

Version order (:func:`is_newer`): both versions integers -> numerically; else both with a
``version_created`` -> by that time; else by the version strings. Equal or lower is a late copy.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from wiredesk.messages import Article, ArticleV2, Change, PubStatus, StoryEventKind
from wiredesk.story_events import StoryCanonical, StoryCause, StoryEvent

ItemKey = tuple[str, str]
"""(source, guid): an item's identity across its versions."""

NO_STORY = ""


@dataclass(frozen=True, slots=True)
class ItemRef:
    """What a version says about its item."""

    source: str
    guid: str
    version: str
    version_created: datetime | None
    pub_status: PubStatus

    @property
    def key(self) -> ItemKey:
        return (self.source, self.guid)


def item_of(article: Article) -> ItemRef | None:
    """The item an article is a version of; None for articles without a ``guid``."""
    if not isinstance(article, ArticleV2) or not article.guid:
        return None
    return ItemRef(
        source=article.source,
        guid=article.guid,
        version=article.version or "1",
        version_created=article.version_created,
        pub_status=article.pub_status,
    )


def _as_int(version: str) -> int | None:
    text = version.strip()
    return int(text) if text.isdigit() else None


def is_newer(
    version: str,
    created: datetime | None,
    than_version: str,
    than_created: datetime | None,
) -> bool:
    """Whether ``version`` replaces ``than_version`` (strictly later).

    Integers compare as numbers ("10" > "9"); other versions by ``version_created`` when both
    have one (providers with opaque version strings date each version); else as strings."""
    a, b = _as_int(version), _as_int(than_version)
    if a is not None and b is not None:
        return a > b
    if created is not None and than_created is not None and created != than_created:
        return created > than_created
    return version > than_version


@dataclass(frozen=True, slots=True)
class Fact:
    """One log record's lifecycle part: what it did to its item and to its story."""

    article_id: str
    story_id: str
    """The story the article is filed under ('' for a kill of an item dedupe never saw)."""
    change: Change
    revision: int
    """The story's revision after this fact (0: no story, or a record from before
    lifecycles were logged: then the previous revision + 1)."""
    canonical: str
    """The story's canonical after this fact; its last one when no member is live."""
    title: str
    item: ItemRef | None = None
    supersedes: str | None = None
    left: str = NO_STORY
    """The story the superseded version left, when a new version moved to another story."""
    left_revision: int = 0
    left_canonical: str = ""
    indexed: bool = True
    """The record carries features (the cascade can match it); kills and withheld do not."""
    seen_ms: int = 0

    @property
    def live(self) -> bool:
        """Whether the article is a live member of its story after this fact."""
        return bool(self.story_id) and (self.item is None or self.item.pub_status == "usable")


@dataclass(frozen=True, slots=True)
class ItemState:
    article_id: str
    version: str
    version_created: datetime | None
    status: PubStatus
    story_id: str
    seen_ms: int


@dataclass(frozen=True, slots=True)
class Member:
    """What a story event says about a canonical member."""

    title: str
    guid: str | None
    version: str | None


@dataclass(slots=True)
class StoryState:
    revision: int = 0
    canonical: str = ""
    live: dict[str, Member] = field(default_factory=dict)
    """Live members in arrival order (insertion order)."""
    last_ms: int = 0

    def copy(self) -> StoryState:
        return StoryState(self.revision, self.canonical, dict(self.live), self.last_ms)


class _View:
    """Reads and the one ``apply`` both the state and a pending batch use."""

    def item(self, key: ItemKey) -> ItemState | None:
        raise NotImplementedError

    def story(self, story_id: str) -> StoryState | None:
        raise NotImplementedError

    def knows(self, article_id: str) -> bool:
        raise NotImplementedError

    def _put_item(self, key: ItemKey, state: ItemState) -> None:
        raise NotImplementedError

    def _story_for_update(self, story_id: str) -> StoryState:
        raise NotImplementedError

    def _saw(self, fact: Fact) -> None:
        raise NotImplementedError

    def apply(self, fact: Fact) -> None:
        """The effect of one fact; the same code for replay and for a batch being decided."""
        if fact.item is not None:
            previous = self.item(fact.item.key)
            if previous is not None and previous.story_id:
                old = self.story(previous.story_id)
                if old is not None and previous.article_id in old.live:
                    old = self._story_for_update(previous.story_id)
                    del old.live[previous.article_id]
                if fact.left and fact.left == previous.story_id:
                    old = self._story_for_update(fact.left)
                    old.revision = fact.left_revision
                    old.canonical = fact.left_canonical
                    old.last_ms = max(old.last_ms, fact.seen_ms)
            self._put_item(
                fact.item.key,
                ItemState(
                    article_id=fact.article_id,
                    version=fact.item.version,
                    version_created=fact.item.version_created,
                    status=fact.item.pub_status,
                    story_id=fact.story_id,
                    seen_ms=fact.seen_ms,
                ),
            )
        if fact.story_id:
            story = self._story_for_update(fact.story_id)
            if fact.live:
                story.live[fact.article_id] = Member(
                    fact.title,
                    fact.item.guid if fact.item else None,
                    fact.item.version if fact.item else None,
                )
            story.revision = fact.revision or story.revision + 1
            story.canonical = fact.canonical or story.canonical or fact.article_id
            story.last_ms = max(story.last_ms, fact.seen_ms)
        self._saw(fact)


class Lifecycle(_View):
    """Items and stories of the window, as the log says; evicted with the window."""

    def __init__(self) -> None:
        self.items: dict[ItemKey, ItemState] = {}
        self.stories: dict[str, StoryState] = {}
        self._ids: set[str] = set()
        self._arrival: deque[tuple[int, str, ItemKey | None, str]] = deque()
        """(seen ms, article id, item key, story id) per applied fact, oldest first: what
        eviction needs, without keeping the facts (titles) themselves."""
        self.generation = 0
        """Bumped by every fact applied and every eviction: what a batch classified at one
        generation saw may differ at another."""

    def item(self, key: ItemKey) -> ItemState | None:
        return self.items.get(key)

    def story(self, story_id: str) -> StoryState | None:
        return self.stories.get(story_id)

    def knows(self, article_id: str) -> bool:
        return article_id in self._ids

    def _put_item(self, key: ItemKey, state: ItemState) -> None:
        self.items[key] = state

    def _story_for_update(self, story_id: str) -> StoryState:
        return self.stories.setdefault(story_id, StoryState())

    def _saw(self, fact: Fact) -> None:
        self._ids.add(fact.article_id)
        key = fact.item.key if fact.item is not None else None
        self._arrival.append((fact.seen_ms, fact.article_id, key, fact.story_id))
        self.generation += 1

    def evict_older_than(self, cutoff_ms: int) -> int:
        """Forget facts seen before the window, as the index forgets their records: an item
        whose current version left the window is unknown again, a member that left it is no
        longer counted, a story none of whose facts is in the window is gone."""
        evicted = 0
        while self._arrival and self._arrival[0][0] < cutoff_ms:
            _, article_id, key, story_id = self._arrival.popleft()
            evicted += 1
            self._ids.discard(article_id)
            if key is not None:
                state = self.items.get(key)
                if state is not None and state.article_id == article_id:
                    del self.items[key]
            story = self.stories.get(story_id) if story_id else None
            if story is not None:
                story.live.pop(article_id, None)
                if story.last_ms < cutoff_ms:
                    del self.stories[story_id]
        self.generation += evicted
        return evicted

    def pending(self) -> Pending:
        return Pending(self)


class Pending(_View):
    """The state as a batch being decided sees it: the applied state plus the batch so far,
    copied on write (the batch may still lose the commit race and be decided again)."""

    def __init__(self, base: Lifecycle) -> None:
        self.base = base
        self._items: dict[ItemKey, ItemState] = {}
        self._stories: dict[str, StoryState] = {}
        self._ids: set[str] = set()

    def item(self, key: ItemKey) -> ItemState | None:
        found = self._items.get(key)
        return found if found is not None else self.base.item(key)

    def story(self, story_id: str) -> StoryState | None:
        found = self._stories.get(story_id)
        return found if found is not None else self.base.story(story_id)

    def knows(self, article_id: str) -> bool:
        return article_id in self._ids or self.base.knows(article_id)

    def _put_item(self, key: ItemKey, state: ItemState) -> None:
        self._items[key] = state

    def _story_for_update(self, story_id: str) -> StoryState:
        found = self._stories.get(story_id)
        if found is None:
            base = self.base.story(story_id)
            found = base.copy() if base is not None else StoryState()
            self._stories[story_id] = found
        return found

    def _saw(self, fact: Fact) -> None:
        self._ids.add(fact.article_id)


# -- planning a decision ----------------------------------------------------------------------

Classification = str
NEW_ITEM: Classification = "new"
"""No lifecycle (no guid), or an item not known with a story: the cascade decides, 'added'."""
LATE: Classification = "late-version"
"""A version equal to or older than the current one: acked, nothing written."""
UNKNOWN_STATUS: Classification = "kill-unknown"
"""A kill or withheld of an item never seen with a story: remembered, no story, no output."""
STATUS: Classification = "status"
"""A kill or withheld of a known item: it leaves its story by identity, no cascade."""
UPDATE: Classification = "update"
"""A higher usable version of a known item: the cascade decides again (``place_update``)."""


def classify(view: _View, item: ItemRef | None) -> tuple[Classification, ItemState | None]:
    """What the article is to its item, and the item's current state."""
    if item is None:
        return NEW_ITEM, None
    current = view.item(item.key)
    if current is not None and not is_newer(
        item.version, item.version_created, current.version, current.version_created
    ):
        return LATE, current
    known = current is not None and bool(current.story_id) and view.story(current.story_id)
    if item.pub_status != "usable":
        return (STATUS if known else UNKNOWN_STATUS), current
    return (UPDATE if known else NEW_ITEM), current


def place_update(current_story: str, verdict_story: str, confident: bool, view: _View) -> str:
    """Where a new version goes: its item's story, unless the cascade placed it *confidently*
    (exact or near: the text itself) in another story that exists. A semantic match or no
    match keeps it where its item is: the provider's identity is stronger evidence than an
    embedding, and an update often rewrites most of the text."""
    if confident and verdict_story != current_story and view.story(verdict_story) is not None:
        return verdict_story
    return current_story


Choose = Callable[[list[str]], str]
"""The canonical among live member ids (in arrival order)."""


def plan(
    view: _View,
    *,
    article_id: str,
    title: str,
    item: ItemRef | None,
    story_id: str,
    change: Change,
    current: ItemState | None,
    choose: Choose,
) -> Fact:
    """The fact a decision writes: the story's revision and canonical after it, and those of
    the story the superseded version left if it moved."""
    supersedes = current.article_id if current is not None and current.story_id else None
    if not story_id:
        return Fact(article_id, NO_STORY, change, 0, "", title, item, supersedes, indexed=False)
    live = item is None or item.pub_status == "usable"
    story = view.story(story_id)
    members = list(story.live) if story is not None else []
    if supersedes is not None and supersedes in members:
        members.remove(supersedes)
    if live:
        members.append(article_id)
    last = story.canonical if story is not None and story.canonical else article_id
    canonical = choose(members) if members else last
    revision = (story.revision if story is not None else 0) + 1
    fact = Fact(
        article_id,
        story_id,
        change,
        revision,
        canonical,
        title,
        item,
        supersedes,
        indexed=live,
    )
    left = current.story_id if current is not None else NO_STORY
    if left and left != story_id:
        old = view.story(left)
        if old is not None:
            remaining = [m for m in old.live if m != supersedes]
            left_canonical = choose(remaining) if remaining else (old.canonical or left)
            fact = replace(
                fact,
                left=left,
                left_revision=old.revision + 1,
                left_canonical=left_canonical,
            )
    return fact


def event_kind(revision: int, members: int) -> StoryEventKind:
    """created at revision 1; killed when no member is live; else updated (a killed story
    that gets a live member again is updated: its revisions go on)."""
    if revision == 1 and members > 0:
        return "created"
    return "killed" if members == 0 else "updated"


def events_of(fact: Fact, view: _View) -> list[StoryEvent]:
    """The story events of a fact, read from ``view`` *after* the fact was applied to it:
    the story the superseded version left (if it moved) first, then the article's story."""
    cause = StoryCause(
        id=fact.article_id,
        guid=fact.item.guid if fact.item else None,
        version=fact.item.version if fact.item else None,
        pub_status=fact.item.pub_status if fact.item else "usable",
        change=fact.change,
    )
    out: list[StoryEvent] = []
    for story_id, revision in ((fact.left, fact.left_revision), (fact.story_id, fact.revision)):
        story = view.story(story_id) if story_id else None
        if story is None:
            continue
        members = len(story.live)
        canonical = None
        if members:
            member = story.live.get(story.canonical)
            if member is not None:
                canonical = StoryCanonical(
                    id=story.canonical,
                    guid=member.guid,
                    version=member.version,
                    title=member.title,
                )
        out.append(
            StoryEvent(
                event=event_kind(revision, members),
                story_id=story_id,
                revision=revision,
                members=members,
                canonical=canonical,
                cause=cause,
            )
        )
    return out

"""What the store decides about an item's versions and a story's state, as pure functions.

The write path (:mod:`services.store.base`) reads rows, calls these and writes the answers; no
SQL here, so the rules are the same on every backend and are tested without a database.

Every answer is a function of the *set* of stored rows, never of the order they arrived in:
a redelivered entry, or the same entries replayed in another order, leads to the same statuses,
current versions and canonicals. That is what keeps the store idempotent under redelivery.

- An **item** is ``(source, guid)``; each version is its own article id. Its *current* version
  is the newest one (stream order) that no stored version names in ``supersedes`` (the chain
  dedupe wrote wins over stream order, which partitions do not keep strictly).
- An article's **status**: the current version is ``killed`` (``change`` killed or
  ``pub_status`` canceled), ``withheld`` (withheld) or ``live``; every other version is
  ``superseded``, or ``killed`` when the item is killed (a kill withdraws every version) or
  when it is itself a kill notice. An article without a guid is an item of one version.
- A **story** is ``killed`` when its latest revision's event is ``killed``; otherwise ``live``
  while it has a live member; without one, ``withheld`` if a member is withheld, else ``killed``
  (a story with no live member is killed, also when its killed event never reached the store).
- Its **canonical** is the latest revision's ``canonical_id`` (else the newest entry's, as
  before revisions existed), unless that article is stored and not live: then the item's live
  current version in the story, else the first live member; a story without live members keeps
  its last canonical.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "ARTICLE_STATUSES",
    "KILLED",
    "LIVE",
    "STORY_STATUSES",
    "SUPERSEDED",
    "WITHHELD",
    "Member",
    "Version",
    "choose_canonical",
    "own_status",
    "resolve_item",
    "story_status",
]

LIVE, SUPERSEDED, KILLED, WITHHELD = "live", "superseded", "killed", "withheld"
ARTICLE_STATUSES = (LIVE, SUPERSEDED, KILLED, WITHHELD)
STORY_STATUSES = (LIVE, KILLED, WITHHELD)


@dataclass(frozen=True, slots=True)
class Version:
    """One stored version of an item, as far as its status depends on it."""

    id: str
    change: str | None
    supersedes: str | None
    pub_status: str | None
    stream_entry: str


@dataclass(frozen=True, slots=True)
class Member:
    """One article filed under a story, as far as the story's canonical depends on it."""

    id: str
    item: tuple[str, str]
    status: str
    stream_entry: str


def own_status(change: str | None, pub_status: str | None) -> str:
    """The status an article's own entry asks for (annotated.v1 entries are always live)."""
    if change == KILLED or pub_status == "canceled":
        return KILLED
    if WITHHELD in (change, pub_status):
        return WITHHELD
    return LIVE


def resolve_item(versions: Sequence[Version]) -> dict[str, tuple[str, bool]]:
    """Each version's ``(status, current)``; exactly one version is current."""
    if not versions:
        return {}
    ids = {v.id for v in versions}
    replaced = {v.supersedes for v in versions if v.supersedes in ids and v.supersedes != v.id}
    heads = [v for v in versions if v.id not in replaced] or list(versions)  # a cycle: by order
    head = max(heads, key=lambda v: (v.stream_entry, v.id))
    head_status = own_status(head.change, head.pub_status)
    resolved: dict[str, tuple[str, bool]] = {}
    for version in versions:
        if version.id == head.id:
            resolved[version.id] = (head_status, True)
        elif head_status == KILLED or own_status(version.change, version.pub_status) == KILLED:
            resolved[version.id] = (KILLED, False)
        else:
            resolved[version.id] = (SUPERSEDED, False)
    return resolved


def story_status(statuses: Iterable[str], last_event: str | None) -> str:
    """A story's status from its members' statuses and its latest revision's event."""
    seen = list(statuses)
    if last_event == KILLED:
        return KILLED
    if LIVE in seen:
        return LIVE
    return WITHHELD if WITHHELD in seen else KILLED


def choose_canonical(
    preferred: str, members: Sequence[Member], *, preferred_status: str | None
) -> str:
    """The canonical to serve: ``preferred`` unless it is stored and not live.

    ``preferred_status`` is the preferred article's stored status wherever it is filed
    (``None``: not stored yet, so nothing says it is withdrawn; it is kept, as before).
    """
    if preferred_status is None or preferred_status == LIVE:
        return preferred
    live = sorted((m for m in members if m.status == LIVE), key=lambda m: (m.stream_entry, m.id))
    if not live:
        return preferred  # a killed story shows its last canonical
    stale = next((m for m in members if m.id == preferred), None)
    if stale is not None:
        for member in reversed(live):
            if member.item == stale.item:
                return member.id  # the item's newer version took its place
    return live[0].id

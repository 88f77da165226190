"""The items' lifecycle state machine (services/dedupe/lifecycle.py), and its log encoding."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from services.dedupe.lifecycle import (
    LATE,
    NEW_ITEM,
    NO_STORY,
    STATUS,
    UNKNOWN_STATUS,
    UPDATE,
    Fact,
    ItemRef,
    Lifecycle,
    classify,
    events_of,
    is_newer,
    place_update,
    plan,
)
from services.dedupe.state import decode_fact, encode_fact
from wiredesk.messages import Change, PubStatus


def first(live: list[str]) -> str:
    """A canonical rule for the tests: the earliest live member."""
    return live[0]


def ref(guid: str, version: str, status: PubStatus = "usable", source: str = "wire") -> ItemRef:
    return ItemRef(source, guid, version, None, status)


class Timeline:
    """Decides against a pending view and applies the fact to the state, as a commit and
    its catch-up do; returns the events each step wrote."""

    def __init__(self) -> None:
        self.state = Lifecycle()
        self.clock = 1000

    def step(
        self, article_id: str, item: ItemRef | None, *, story: str | None = None
    ) -> tuple[str, list[tuple[str, int, int, str | None, Change]]]:
        view = self.state.pending()
        kind, current = classify(view, item)
        if kind == LATE:
            return kind, []
        change: Change = "added"
        if item is not None and item.pub_status != "usable":
            change = "killed" if item.pub_status == "canceled" else "withheld"
        if kind == UNKNOWN_STATUS:
            story_id = NO_STORY
        elif kind in (STATUS, UPDATE):
            assert current is not None
            story_id = current.story_id
            change = "updated" if kind == UPDATE else change
        else:
            story_id = story or article_id
        fact = plan(
            view,
            article_id=article_id,
            title=f"title of {article_id}",
            item=item,
            story_id=story_id,
            change=change,
            current=current,
            choose=first,
        )
        self.clock += 1
        fact = replace(fact, seen_ms=self.clock)
        view.apply(fact)
        events: list[tuple[str, int, int, str | None, Change]] = [
            (
                e.event,
                e.revision,
                e.members,
                e.canonical.id if e.canonical else None,
                e.cause.change,
            )
            for e in events_of(fact, view)
        ]
        self.state.apply(fact)
        return kind, events


@pytest.mark.parametrize(
    ("version", "than", "newer"),
    [
        ("2", "1", True),
        ("10", "9", True),  # numbers, not strings: "10" < "9" as text
        ("1", "1", False),
        ("1", "2", False),
        ("b", "a", True),  # no dates: as strings
    ],
)
def test_versions_compare_as_numbers_when_both_are_integers(
    version: str, than: str, newer: bool
) -> None:
    assert is_newer(version, None, than, None) is newer


def test_opaque_versions_compare_by_version_created() -> None:
    early = datetime(2026, 1, 1, tzinfo=UTC)
    late = datetime(2026, 1, 2, tzinfo=UTC)
    assert is_newer("aaa", late, "zzz", early)
    assert not is_newer("zzz", early, "aaa", late)
    assert is_newer("10", early, "9", late)  # integers win over dates


def test_a_story_grows_a_new_version_replaces_and_a_late_copy_changes_nothing() -> None:
    t = Timeline()
    assert t.step("a1", ref("A", "1")) == (NEW_ITEM, [("created", 1, 1, "a1", "added")])
    assert t.step("b1", ref("B", "1"), story="a1")[1] == [("updated", 2, 2, "a1", "added")]
    kind, events = t.step("a2", ref("A", "2"))
    assert kind == UPDATE
    assert events == [("updated", 3, 2, "b1", "updated")]  # a1 is no longer live
    assert t.step("a1-late", ref("A", "1")) == (LATE, [])
    assert t.step("a2-again", ref("A", "2")) == (LATE, [])
    assert list(t.state.stories["a1"].live) == ["b1", "a2"]
    assert t.state.items[("wire", "A")].article_id == "a2"


def test_the_kill_of_the_last_live_member_kills_the_story() -> None:
    t = Timeline()
    t.step("a1", ref("A", "1"))
    t.step("b1", ref("B", "1"), story="a1")
    kind, events = t.step("b2", ref("B", "2", "canceled"))
    assert kind == STATUS
    assert events == [("updated", 3, 1, "a1", "killed")]
    _, events = t.step("a2", ref("A", "2", "canceled"))
    assert events == [("killed", 4, 0, None, "killed")]
    story = t.state.stories["a1"]
    assert story.live == {} and story.canonical == "a1"  # the last canonical is kept
    assert t.step("a1-late", ref("A", "1")) == (LATE, [])  # a killed item stays killed


def test_withheld_hides_until_a_later_usable_version_brings_it_back() -> None:
    t = Timeline()
    t.step("a1", ref("A", "1"))
    assert t.step("a2", ref("A", "2", "withheld"))[1] == [("killed", 2, 0, None, "withheld")]
    kind, events = t.step("a3", ref("A", "3"))
    assert kind == UPDATE
    assert events == [("updated", 3, 1, "a3", "updated")]
    assert t.state.items[("wire", "A")].status == "usable"


def test_a_kill_of_an_unknown_item_is_remembered_without_a_story() -> None:
    t = Timeline()
    assert t.step("x3", ref("X", "3", "canceled")) == (UNKNOWN_STATUS, [])
    assert t.state.stories == {}
    assert t.step("x1", ref("X", "1")) == (LATE, [])  # an older version arriving late
    kind, events = t.step("x4", ref("X", "4"))
    assert (kind, events) == (NEW_ITEM, [("created", 1, 1, "x4", "added")])


def test_items_without_guid_have_no_lifecycle_and_another_source_is_another_item() -> None:
    t = Timeline()
    t.step("a1", ref("A", "1"))
    assert t.step("plain", None, story="a1")[1] == [("updated", 2, 2, "a1", "added")]
    assert t.step("relay-a1", ref("A", "1", source="relay"), story="a1")[0] == NEW_ITEM


def test_a_new_version_moves_only_when_placed_confidently_in_an_existing_story() -> None:
    t = Timeline()
    t.step("a1", ref("A", "1"))
    t.step("z1", ref("Z", "1"))
    view = t.state.pending()
    assert place_update("a1", "z1", True, view) == "z1"
    assert place_update("a1", "z1", False, view) == "a1"  # semantic or no match: stays
    assert place_update("a1", "nowhere", True, view) == "a1"
    _, current = classify(view, ref("A", "2"))
    fact = plan(
        view,
        article_id="a2",
        title="t",
        item=ref("A", "2"),
        story_id="z1",
        change="updated",
        current=current,
        choose=first,
    )
    view.apply(fact)
    events = events_of(fact, view)
    assert [(e.story_id, e.event, e.revision, e.members) for e in events] == [
        ("a1", "killed", 2, 0),  # the story the old version left
        ("z1", "updated", 2, 2),
    ]


def test_revisions_survive_the_log_encoding_and_a_replica_replaying_it_agrees() -> None:
    t = Timeline()
    facts: list[Fact] = []
    original = t.state.apply

    def record(fact: Fact) -> None:
        facts.append(fact)
        original(fact)

    t.state.apply = record  # type: ignore[method-assign]
    t.step("a1", ref("A", "1"))
    t.step("b1", ref("B", "1"), story="a1")
    t.step("a2", ItemRef("wire", "A", "2", datetime(2026, 3, 1, tzinfo=UTC), "usable"))
    t.step("b2", ref("B", "2", "canceled"))
    replica = Lifecycle()
    for number, fact in enumerate(facts):
        fields = encode_fact(fact)
        fields[b"sig"] = b"x" if fact.indexed else b""
        if not fact.indexed:
            del fields[b"sig"]
        back = decode_fact(f"{fact.seen_ms}-{number}", fields)
        assert back.item == fact.item and back.revision == fact.revision
        replica.apply(back)
    assert replica.stories["a1"].revision == t.state.stories["a1"].revision == 4
    assert list(replica.stories["a1"].live) == list(t.state.stories["a1"].live) == ["a2"]
    assert replica.items == t.state.items


def test_eviction_forgets_items_and_stories_with_the_window() -> None:
    t = Timeline()
    t.step("a1", ref("A", "1"))
    t.step("b1", ref("B", "1"))
    t.state.evict_older_than(t.clock)  # the first fact left the window
    assert ("wire", "A") not in t.state.items and "a1" not in t.state.stories
    assert ("wire", "B") in t.state.items
    assert t.step("a1-again", ref("A", "1"))[0] == NEW_ITEM  # unknown again, as in the index

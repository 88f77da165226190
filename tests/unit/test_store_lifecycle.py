"""The store's lifecycle rules (services.store.lifecycle), without a database."""

from __future__ import annotations

import itertools

from services.store.lifecycle import (
    Member,
    Version,
    choose_canonical,
    own_status,
    resolve_item,
    story_status,
)


def version(
    vid: str,
    entry: int,
    *,
    change: str | None = "added",
    supersedes: str | None = None,
    pub_status: str | None = "usable",
) -> Version:
    return Version(vid, change, supersedes, pub_status, f"{entry:015d}-00000000")


def test_an_entrys_own_status() -> None:
    assert own_status(None, None) == "live"  # annotated.v1
    assert own_status("added", "usable") == own_status("updated", "usable") == "live"
    assert own_status("killed", "canceled") == own_status("added", "canceled") == "killed"
    assert own_status("withheld", "withheld") == own_status("added", "withheld") == "withheld"


def test_one_version_is_current_and_the_others_superseded_in_any_order() -> None:
    versions = [
        version("v1", 1),
        version("v2", 2, change="updated", supersedes="v1"),
        version("v3", 3, change="updated", supersedes="v2"),
    ]
    expected = {"v1": ("superseded", False), "v2": ("superseded", False), "v3": ("live", True)}
    for order in itertools.permutations(versions):
        assert resolve_item(list(order)) == expected


def test_a_kill_withdraws_every_version() -> None:
    versions = [
        version("v1", 1),
        version("v2", 2, change="killed", supersedes="v1", pub_status="canceled"),
    ]
    assert resolve_item(versions) == {"v1": ("killed", False), "v2": ("killed", True)}


def test_a_withheld_version_hides_the_item_until_a_later_one() -> None:
    withheld = [version("v1", 1), version("v2", 2, change="withheld", supersedes="v1")]
    assert resolve_item(withheld) == {"v1": ("superseded", False), "v2": ("withheld", True)}
    released = [*withheld, version("v3", 3, change="updated", supersedes="v2")]
    assert resolve_item(released)["v3"] == ("live", True)
    assert resolve_item(released)["v2"] == ("superseded", False)


def test_the_chain_beats_stream_order_and_a_cycle_falls_back_to_it() -> None:
    assert resolve_item([version("v1", 9), version("v2", 1, supersedes="v1")])["v2"][1] is True
    cycle = [version("a", 1, supersedes="b"), version("b", 2, supersedes="a")]
    assert [vid for vid, (_, current) in resolve_item(cycle).items() if current] == ["b"]
    assert resolve_item([]) == {}


def test_story_status() -> None:
    assert story_status(["live", "killed"], "updated") == "live"
    assert story_status(["live"], "killed") == "killed"  # its last event says so
    assert story_status(["killed", "superseded"], None) == "killed"
    assert story_status(["withheld", "superseded"], "updated") == "withheld"


def member(mid: str, item: str, status: str, entry: int) -> Member:
    return Member(mid, ("src", item), status, f"{entry:015d}-00000000")


def test_the_canonical_is_never_a_withdrawn_article() -> None:
    members = [
        member("a1", "a", "superseded", 1),
        member("b1", "b", "live", 2),
        member("a2", "a", "live", 3),
        member("c1", "c", "killed", 4),
    ]
    assert choose_canonical("b1", members, preferred_status="live") == "b1"
    assert choose_canonical("a1", members, preferred_status="superseded") == "a2"  # its item
    assert choose_canonical("c1", members, preferred_status="killed") == "b1"  # first live
    assert choose_canonical("zz", members, preferred_status=None) == "zz"  # not stored yet
    dead = [member("a1", "a", "killed", 1)]
    assert choose_canonical("a1", dead, preferred_status="killed") == "a1"  # the last one

"""The key layout: single-node names unchanged, every script's keys in one slot otherwise."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from redis.crc import key_slot

from wiredesk.keys import Keys
from wiredesk.partitions import parse_subset, partition_for
from wiredesk.settings import Streams, WiredeskSettings


def test_one_partition_on_one_node_keeps_every_name_wiredesk_always_used() -> None:
    settings = WiredeskSettings()
    keys = Keys.from_settings(settings)
    assert not keys.tagged
    assert keys.raw(0) == settings.streams.raw == "articles:raw"
    assert keys.normalized(0) == "articles:normalized"
    assert keys.annotated(0) == "articles:annotated"
    assert keys.dlq(0) == "articles:dlq"
    assert keys.unique == "articles:unique"
    assert keys.seen_raw(0, "x") == settings.key("seen", "raw", "x") == "wd:seen:raw:x"
    assert keys.dedupe_log == settings.key("dedupe", "log")
    assert keys.dedupe_head == settings.key("dedupe", "head")
    assert keys.errors("ingest") == settings.key("errors", "ingest")
    assert keys.embargo(0) == "wd:embargo"
    assert keys.embargo_items(0) == "wd:embargo:items"


@pytest.mark.parametrize(("cluster", "partitions"), [(True, 1), (False, 4), (True, 8)])
def test_each_script_touches_one_slot(cluster: bool, partitions: int) -> None:
    settings = WiredeskSettings(
        partitions=partitions, key_prefix="ns:wd", streams=Streams().prefixed("ns:")
    )
    keys = Keys.from_settings(settings, cluster=cluster)
    assert keys.tagged
    for p in keys.all_partitions:
        # ingest's commit, dead letters, dlq replay, dedupe's finish step, errors
        partition_keys = [*keys.streams_of(p).values(), keys.seen_raw(p, "a{b}c")]
        partition_keys.append(keys.errors("dedupe", p))
        partition_keys += [keys.embargo(p), keys.embargo_items(p)]  # ingest's hold and release
        assert len({key_slot(k.encode()) for k in partition_keys}) == 1
    dedupe = [keys.dedupe_log, keys.dedupe_head, keys.unique]
    dedupe += [keys.dedupe_outbox(p) for p in keys.all_partitions]
    assert len({key_slot(k.encode()) for k in dedupe}) == 1
    assert keys.unique == "ns:articles:unique"  # consumers of the unique stream see no change


def test_braces_in_configured_names_are_refused() -> None:
    with pytest.raises(ValueError, match="braces"):
        Keys.from_settings(WiredeskSettings(key_prefix="{x}"))


def test_partition_choice_is_a_fixed_function_of_the_id() -> None:
    # pinned: every producer (any language) must compute the same (blake2b-64, big-endian, mod n)
    assert [partition_for(x, 3) for x in ["a", "b", "article-1"]] == [2, 2, 1]
    assert [partition_for(x, 16) for x in ["a", "b", "article-1"]] == [15, 5, 10]
    assert partition_for("anything", 1) == 0
    rng = random.Random(1)
    counts = Counter(partition_for(f"{rng.random()}", 4) for _ in range(4000))
    assert min(counts.values()) > 850  # spread evenly (1,000 expected each)
    with pytest.raises(ValueError, match=">= 1"):
        partition_for("a", 0)


def test_consumed_partitions_subset() -> None:
    assert parse_subset(None, 3) == [0, 1, 2]
    assert parse_subset("0, 2-3", 4) == [0, 2, 3]
    with pytest.raises(ValueError, match="outside"):
        parse_subset("4", 4)
    with pytest.raises(ValueError, match="N or N-M"):
        parse_subset("x", 4)

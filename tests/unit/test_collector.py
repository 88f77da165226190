"""The batched collector: no automatic full collection, full ones between batches over the
young heap, cyclic garbage still collected, CPython's schedule restored on uninstall."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from wiredesk.collector import FULL_AFTER_YOUNG, NEVER, BatchedCollector, collector_for
from wiredesk.settings import WiredeskSettings


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


@pytest.fixture
def collector() -> Iterator[BatchedCollector]:
    threshold = gc.get_threshold()
    collector = BatchedCollector()
    collector.install()
    try:
        yield collector
    finally:
        collector.uninstall()
        gc.unfreeze()
        gc.set_threshold(*threshold)


def test_full_collections_leave_cpython_schedule_and_run_between_batches(
    collector: BatchedCollector,
) -> None:
    assert gc.get_threshold()[2] == NEVER
    frozen_at_start = gc.get_freeze_count()
    assert frozen_at_start > 0  # what start-up loaded is out of the collector's sight
    full: list[int] = []

    def watch(phase: str, info: dict[str, int]) -> None:
        if phase == "stop" and info["generation"] == 2:
            full.append(1)

    gc.callbacks.append(watch)
    try:
        survivors = []
        for _ in range(200):
            survivors.append([[i] for i in range(5000)][:50])  # a batch's allocations
            assert not full or collector.collections == len(full)  # only ours, never CPython's
            collector.after_batch()
    finally:
        gc.callbacks.remove(watch)
    assert collector.collections == len(full) > 0
    assert gc.get_freeze_count() > frozen_at_start  # survivors frozen after each collection


def test_cyclic_garbage_of_a_batch_is_still_collected(collector: BatchedCollector) -> None:
    a, b = Node(), Node()
    a.other, b.other = b, a
    ref = weakref.ref(a)
    del a, b
    while ref() is not None and gc.get_count()[2] < FULL_AFTER_YOUNG:
        _ = [[i] for i in range(10000)]  # allocations until a full collection is due
    collector.after_batch()
    assert ref() is None


def test_the_setting_chooses_the_collector() -> None:
    assert WiredeskSettings().gc == "batched"
    assert collector_for("batched") is collector_for("batched")  # one per process
    assert collector_for("python") is None

"""Full garbage collections between batches, over the young heap only.

Why: CPython starts a full (generation 2) collection whenever enough objects survived, in the
middle of whatever the stage is doing, and a full collection scans every tracked object the
process holds. A stage holds a lot (dedupe's window: records, term dicts; ingest's and the
store's libraries): measured under ``wiredesk bench`` at half load, full collections paused
ingest for up to 315 ms, dedupe for up to 131 ms and the store for up to 92 ms, with almost
nothing to collect (0–123 objects), and every article waiting behind a pause gets it added
to its latency.

What this does instead (``WIREDESK_GC=batched``, the default): automatic full collections are
off (generations 0 and 1 still run as usual, they are short); after a batch, once as many
young collections have run as CPython would wait for before a full one, the runner collects
fully and then *freezes* what survived (``gc.freeze``: moved out of the collector's sight,
still freed by reference counting as always). Each full collection therefore scans only what
was allocated since the last one, milliseconds, and runs between batches, not inside one.
The price: a reference cycle formed among frozen objects after they were frozen is not
collected until the next ``rescan_every_s`` (default an hour), when everything is unfrozen
and collected once. ``WIREDESK_GC=python`` keeps CPython's own schedule.
"""

from __future__ import annotations

import gc
import logging
import time
from typing import Literal

log = logging.getLogger(__name__)

GcMode = Literal["batched", "python"]

FULL_AFTER_YOUNG = 10
"""Young (generation 1) collections between two full ones: CPython's default threshold."""

NEVER = 1 << 30
"""A generation-2 threshold no process reaches: automatic full collections off."""


class BatchedCollector:
    """Runs full collections at batch boundaries and keeps the scanned heap young."""

    def __init__(self, *, rescan_every_s: float = 3600.0) -> None:
        self.rescan_every_s = rescan_every_s
        self.collections = 0
        self._last_rescan = time.monotonic()
        self._installed = False

    def install(self) -> None:
        """Freeze what start-up loaded and take full collections off CPython's schedule."""
        gc.collect()
        gc.freeze()
        young, middle, _ = gc.get_threshold()
        gc.set_threshold(young, middle, NEVER)
        self._installed = True

    def uninstall(self) -> None:
        young, middle, _ = gc.get_threshold()
        gc.set_threshold(young, middle, FULL_AFTER_YOUNG)
        self._installed = False

    def after_batch(self) -> None:
        """Between batches: a full collection of the young heap when one is due."""
        if not self._installed or gc.get_count()[2] < FULL_AFTER_YOUNG:
            return
        started = time.perf_counter()
        rescan = time.monotonic() - self._last_rescan >= self.rescan_every_s
        if rescan:  # the rare whole-heap pass: cycles among frozen objects are found here
            gc.unfreeze()
            self._last_rescan = time.monotonic()
        found = gc.collect()
        gc.freeze()
        self.collections += 1
        log.debug(
            "full collection between batches",
            extra={
                "collected": found,
                "ms": round((time.perf_counter() - started) * 1000, 2),
                "whole_heap": rescan,
                "frozen": gc.get_freeze_count(),
            },
        )


_PROCESS = BatchedCollector()
"""One per process: the collector is process-wide state (two stages may share a process)."""


def collector_for(mode: GcMode) -> BatchedCollector | None:
    """The process's collector for ``mode`` (``None``: CPython's own schedule)."""
    return _PROCESS if mode == "batched" else None

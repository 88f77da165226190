"""The work-bound limit: the end-to-end rate the stages' own CPU allows on this machine. Pure.

Why: the raw pass-through limit (:mod:`tools.bench.limit`) is the ceiling of the stream
plumbing, which wiredesk's pipeline never approaches because its stages do work on every
article (parse, normalize, hash, embed, write). The ceiling that work sets is what the
measured per-article CPU of the stages allows when every core is busy with them: ``cores /
sum(CPU seconds per article over the stages)``. A pipeline far below it waits (on Redis round
trips, batching, a stage that cannot use the idle cores); near it, only less work per article
or more cores make it faster.

Each stage's processes are counted together (all replicas), so the limit holds for any
replica count; Redis' own CPU is not in the sum (it is in the pass-through limit).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def work_bound(cpu: Mapping[str, Mapping[str, Any]], cores: int) -> dict[str, Any] | None:
    """The limit from a phase's ``cpu`` block (per stage ``articles_per_cpu_s``), or None
    when a stage's CPU is unknown (a process that exited before it was read)."""
    if cores < 1 or not cpu:
        return None
    seconds: dict[str, float] = {}
    for stage, measured in cpu.items():
        rate = measured.get("articles_per_cpu_s")
        if not rate or rate <= 0:
            return None
        seconds[stage] = 1.0 / float(rate)
    total = sum(seconds.values())
    return {
        "articles_per_s": round(cores / total, 1),
        "cores": cores,
        "cpu_ms_per_article": round(1000 * total, 3),
        "share": {stage: round(s / total, 3) for stage, s in seconds.items()},
    }


def stage_bound(
    cpu: Mapping[str, Mapping[str, Any]], replicas: Mapping[str, int], cores: int
) -> dict[str, Any] | None:
    """The tighter of :func:`work_bound` and what each stage's replicas allow at one core
    each (``min(replicas, cores) x articles per CPU-second``), or None when a CPU is unknown.

    Why a second limit: a stage's replica is one Python process whose work holds the GIL
    (its model threads aside), so one dedupe replica cannot use the second core that
    ``work_bound`` counts on. The ratio to this limit says how much the pipeline waits
    beyond what its replica counts force; ``binding`` names the stage (or ``cores``) that
    sets it. A replica whose threads do use more than a core can exceed it (a ratio > 1).
    """
    limit = work_bound(cpu, cores)
    if limit is None:
        return None
    caps = {
        stage: round(min(replicas.get(stage, 1), cores) * float(measured["articles_per_cpu_s"]), 1)
        for stage, measured in cpu.items()
    }
    stage, cap = min(caps.items(), key=lambda kv: kv[1])
    binding = stage if cap < limit["articles_per_s"] else "cores"
    return {
        "articles_per_s": min(cap, limit["articles_per_s"]),
        "binding": binding,
        "stage_caps": caps,
    }


def machine_bound(
    cpu: Mapping[str, Mapping[str, Any]],
    outside: Mapping[str, Mapping[str, Any]],
    cores: int,
) -> dict[str, Any] | None:
    """:func:`work_bound` with the CPU of what shares the cores with the stages added to the
    sum (``outside``: the Redis server, the benchmark's publisher), or None when unknown.

    Why: on a benchmark machine the stages are not alone; Redis' work on every entry and
    the load generator's take cores too. Ahead of ``work_bound`` by what those cost, this
    limit says how much of the gap to it is theirs and how much is the pipeline waiting."""
    if not outside:
        return None
    return work_bound({**cpu, **outside}, cores)

"""The three outputs of a run: a terminal table, a JSON file, a PNG plot.

The JSON holds everything (the terminal shows a digest); the plot shows what a user choosing a
pipeline looks at first: how latency rises as the offered rate approaches the maximum, against
the ceiling of the raw pass-through measured in the same run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

STAGES = ("ingest", "dedupe", "store")


def write_json(results: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))


def _fmt(value: Any, suffix: str = "") -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.1f}{suffix}"
    if isinstance(value, int):
        return f"{value:,}{suffix}"
    return f"{value}{suffix}"


def _ratio(value: Any) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _mib(value: Any) -> str:
    return "n/a" if value is None else f"{value / 2**20:,.1f} MiB"


def print_tables(results: dict[str, Any], console: Console) -> None:
    """A digest of the results; every number is also in the JSON."""
    for section in (_throughput, _cpu, _latency, _memory, _growth, _cluster, _profile):
        section(results, console)


def _throughput(results: dict[str, Any], console: Console) -> None:
    table = Table(title="throughput (articles/s, end to end)", title_justify="left")
    columns = ("run", "articles", "articles/s", "x limit", "x work", "ingest", "dedupe", "store")
    for column in columns:
        table.add_column(column, justify="right" if column != "run" else "left")
    limit = results.get("limit")
    if limit:
        table.add_row(
            "raw pass-through (3 hops)",
            _fmt(limit["articles"]),
            _fmt(limit["articles_per_s"]),
            "1.000",
            "",
            "",
            "",
            "",
        )
    for run in results.get("pipeline", []):
        stages = run["phase"]["stages"]
        table.add_row(
            f"wiredesk, dedupe x{run['dedupe_replicas']}",
            _fmt(run["phase"]["articles"]),
            _fmt(run["phase"]["articles_per_s"]),
            "n/a" if run.get("ratio_to_limit") is None else f"{run['ratio_to_limit']:.3f}",
            _ratio(run.get("ratio_to_work_bound")),
            *(_fmt(stages.get(s, {}).get("entries_per_s")) for s in STAGES),
        )
    console.print(table)
    for run in results.get("pipeline", []):
        bound = run.get("work_bound")
        if bound:
            console.print(
                f"work-bound limit, dedupe x{run['dedupe_replicas']}: "
                f"{bound['articles_per_s']:,.1f} articles/s = {bound['cores']} cores / "
                f"{bound['cpu_ms_per_article']:.3f} ms of stage CPU per article "
                f"(shares: {', '.join(f'{k} {v:.0%}' for k, v in bound['share'].items())})"
            )
        staged = run.get("stage_bound")
        if staged:
            reached = _ratio(run.get("ratio_to_stage_bound"))
            console.print(
                f"stage-bound limit, dedupe x{run['dedupe_replicas']}: "
                f"{staged['articles_per_s']:,.1f} articles/s (one core per replica; set by "
                f"{staged['binding']}); the pipeline reached {reached} of it"
            )
        machine = run.get("machine_bound")
        if machine:
            console.print(
                f"machine-bound limit, dedupe x{run['dedupe_replicas']}: "
                f"{machine['articles_per_s']:,.1f} articles/s with Redis' and the benchmark's "
                f"own CPU in the sum (shares: "
                f"{', '.join(f'{k} {v:.0%}' for k, v in machine['share'].items())}); "
                f"the pipeline reached {_ratio(run.get('ratio_to_machine_bound'))} of it"
            )


def _cluster(results: dict[str, Any], console: Console) -> None:
    rows = results.get("cluster")
    if not rows:
        return
    table = Table(
        title="one Redis node vs a Redis Cluster (3 masters + 3 replicas, WAIT 1), same run",
        title_justify="left",
    )
    for column in ("setup", "partitions", "ingest", "articles", "seconds", "articles/s", "x node"):
        table.add_column(column, justify="right" if column != "setup" else "left")
    for row in rows:
        table.add_row(
            row["setup"],
            _fmt(row["partitions"]),
            _fmt(row["ingest_replicas"]),
            _fmt(row["articles"]),
            _fmt(row["seconds"]),
            _fmt(row["articles_per_s"]),
            f"{row.get('ratio_to_single_node', 1.0):.3f}",
        )
    console.print(table)


def _cpu(results: dict[str, Any], console: Console) -> None:
    if not results.get("pipeline"):
        return
    table = Table(title="CPU per stage (articles per CPU-second)", title_justify="left")
    table.add_column("run")
    for stage in STAGES:
        table.add_column(stage, justify="right")
    for run in results["pipeline"]:
        per = run["phase"]["cpu"]
        table.add_row(
            f"dedupe x{run['dedupe_replicas']}",
            *(_fmt(per.get(s, {}).get("articles_per_cpu_s")) for s in STAGES),
        )
    console.print(table)


def _latency(results: dict[str, Any], console: Console) -> None:
    latency = results.get("latency")
    if not latency:
        return
    table = Table(
        title=f"end-to-end latency (ms), max rate {latency['max_rate']:,.0f}/s",
        title_justify="left",
    )
    for column in ("load", "target/s", "achieved/s", "n", "p50", "p95", "p99", "max"):
        table.add_column(column, justify="right")
    for run in latency["runs"]:
        lat = run["latency_ms"]
        table.add_row(
            f"{run['fraction']:.0%}",
            _fmt(run["target_rate"]),
            _fmt(run["articles_per_s"]),
            *(_fmt(lat.get(k)) for k in ("n", "p50", "p95", "p99", "max")),
        )
    console.print(table)


def _memory(results: dict[str, Any], console: Console) -> None:
    memory = results.get("memory")
    if not memory:
        return
    table = Table(title="memory", title_justify="left")
    table.add_column("what")
    table.add_column("value", justify="right")
    rows = [
        ("dedupe state (Redis), bytes/article", memory["dedupe_state_bytes_per_article"]),
        ("ingest replay keys (Redis), bytes/article", memory["ingest_seen_bytes_per_article"]),
        ("streams (Redis), bytes/article", memory["streams_bytes_per_article"]),
        *(
            (f"  {stream}", value)
            for stream, value in sorted(memory["per_stream_bytes_per_article"].items())
        ),
    ]
    for what, value in rows:
        table.add_row(what, _fmt(value))
    for service, procs in memory["rss"].items():
        for number, proc in enumerate(procs):
            table.add_row(
                f"RSS {service}[{number}] (peak)",
                f"{_mib(proc['rss'])} ({_mib(proc['peak_rss'])})",
            )
    console.print(table)


def _growth(results: dict[str, Any], console: Console) -> None:
    growth = results.get("growth")
    if not growth:
        return
    table = Table(title="dedupe cost vs window size (in-process)", title_justify="left")
    columns = (
        "window",
        "articles/s",
        "ms/article",
        "w/o features",
        "batch p95 ms",
        "log B/rec",
        "index B/rec",
    )
    for column in columns:
        table.add_column(column, justify="right")
    for row in growth["sizes"]:
        table.add_row(
            _fmt(row["window"]),
            _fmt(row["articles_per_s"]),
            f"{row['ms_per_article']:.3f}",
            f"{row['ms_per_article_without_features']:.3f}",
            _fmt(row["batch_ms"].get("p95")),
            _fmt(row["log_bytes_per_record"]),
            _fmt(row["index_rss_bytes_per_record"]),
        )
    console.print(table)
    g = growth["growth"]
    console.print(
        f"cost ratio largest/smallest window: {_fmt(g['cost_ratio'])} "
        f"for a window {_fmt(g['size_ratio'])}x larger (sublinear: {g['sublinear']})"
    )


def _profile(results: dict[str, Any], console: Console) -> None:
    profile = results.get("profile")
    if not profile:
        return
    for service in STAGES:
        data = profile.get(service)
        if not data or not data.get("samples"):
            continue
        table = Table(title=f"profile: {service} ({data['samples']} samples)", title_justify="left")
        table.add_column("self", justify="right")
        table.add_column("function")
        for row in data["self"][:8]:
            table.add_row(f"{row['share']:.0%}", row["function"])
        console.print(table)


def plot(results: dict[str, Any], path: Path) -> str | None:
    """Throughput and latency against offered rate; returns why not when it cannot plot."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed (pip install 'wiredesk[bench]'): no plot"
    latency = results.get("latency")
    if not latency or not latency.get("runs"):
        return "no latency runs: no plot"
    runs = sorted(latency["runs"], key=lambda r: r["target_rate"])
    offered = [r["target_rate"] for r in runs]
    achieved = [r["articles_per_s"] for r in runs]
    full = next((p for p in results.get("pipeline", []) if p["dedupe_replicas"] == 1), None)
    if full is not None:
        offered.append(full["phase"]["publish_rate"])
        achieved.append(full["phase"]["articles_per_s"])
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 8), sharex=True)
    top.plot(offered, achieved, "o-", label="wiredesk (dedupe x1)")
    if results.get("limit"):
        top.axhline(
            results["limit"]["articles_per_s"],
            color="grey",
            linestyle="--",
            label="raw pass-through limit",
        )
    top.set_ylabel("stored articles/s (log scale)")
    top.set_xscale("log")
    top.set_yscale("log")
    top.legend()
    top.grid(True, alpha=0.3)
    for key in ("p50", "p95", "p99"):
        bottom.plot(
            [r["target_rate"] for r in runs],
            [r["latency_ms"].get(key, 0) for r in runs],
            "o-",
            label=key,
        )
    bottom.set_xlabel("offered rate (articles/s, log scale)")
    bottom.set_ylabel("end-to-end latency (ms)")
    bottom.legend()
    bottom.grid(True, alpha=0.3)
    fig.suptitle("wiredesk: throughput and latency vs offered rate")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None

"""``wiredesk bench``: one run that measures wiredesk next to the limit of the same machine.

Order of a run, and why:

1. the corpus (deterministic: same options, same articles);
2. the raw pass-through limit, first, on a quiet private Redis;
3. wiredesk with one dedupe replica at full speed: throughput, per stage, CPU, memory;
4. latency at 25/50/80% of the rate step 3 measured (so "50% of max" is this machine's max,
   now), on the same running services;
5. optionally, py-spy attached during another full-speed slice (step 3 stays unperturbed);
6. wiredesk with N dedupe replicas at full speed, on the same corpus as step 3;
7. dedupe cost against 1k/10k/100k articles in the window, in-process.

Everything runs on a private ``redis-server`` (``EmbeddedRedis``) so nothing else's traffic is
in the numbers, except what other processes on the machine do to the CPU: the JSON records the
load average before and after for that reason.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis
from rich.console import Console

from services.dedupe.settings import DedupeSettings
from tools.bench import procfs
from tools.bench.corpus import DEFAULT_DEV_SET, CorpusSpec, generate, load_bases
from tools.bench.report import plot, print_tables, write_json
from tools.bench.stats import ratio
from tools.bench.workbound import machine_bound, stage_bound, work_bound

PHASES = ("limit", "pipeline", "latency", "growth", "cluster")
CAVEAT = (
    "Measured on a machine shared with other work: wall-clock numbers are noisy (see load "
    "average); per-CPU-second numbers are the steadier ones. Compare runs on a quiet machine."
)


@dataclass(slots=True)
class BenchOptions:
    """What one benchmark run does. ``quick()`` gives the seconds-long variant for tests."""

    articles: int = 5000
    duplicate_rate: float = 0.5
    seed: int = 1
    corpus: Path | None = None
    dedupe_replicas: int = 2
    warmup_articles: int = 100
    fractions: tuple[float, ...] = (0.25, 0.5, 0.8)
    latency_seconds: float = 10.0
    latency_min_articles: int = 200
    latency_max_articles: int = 20_000
    growth_sizes: tuple[int, ...] = (1_000, 10_000, 100_000)
    growth_articles: int = 1_000
    cluster_articles: int = 3_000
    cluster_partitions: int = 3
    cluster_ingest: int = 2
    batch: int = 200
    out: Path = field(default_factory=lambda: Path("bench-results/bench.json"))
    plot: bool = True
    profile: bool = False
    profile_articles: int = 3_000
    skip: tuple[str, ...] = ()
    timeout: float = 900.0
    quick: bool = False

    def quickened(self) -> BenchOptions:
        """Small sizes that exercise every phase in seconds (the integration test uses this)."""
        return replace(
            self,
            quick=True,
            articles=min(self.articles, 200),
            warmup_articles=min(self.warmup_articles, 10),
            latency_seconds=min(self.latency_seconds, 1.0),
            latency_min_articles=min(self.latency_min_articles, 40),
            latency_max_articles=min(self.latency_max_articles, 300),
            growth_sizes=(200, 2_000),
            growth_articles=min(self.growth_articles, 60),
            cluster_articles=min(self.cluster_articles, 100),
            profile_articles=min(self.profile_articles, 300),
            timeout=min(self.timeout, 120.0),
        )

    def runs(self, phase: str) -> bool:
        return phase not in self.skip


def _sizes(text: str) -> tuple[int, ...]:
    return tuple(int(part.replace("_", "").replace("k", "000")) for part in text.split(",") if part)


def _fractions(text: str) -> tuple[float, ...]:
    return tuple(float(part) for part in text.split(",") if part)


def parse_args(argv: Sequence[str] | None = None) -> BenchOptions:
    defaults = BenchOptions()
    parser = argparse.ArgumentParser(
        prog="wiredesk bench",
        description="Throughput, latency and memory of wiredesk next to a raw Redis "
        "pass-through limit measured in the same run, on a private redis-server.",
    )
    parser.add_argument("--articles", type=int, default=defaults.articles, help="corpus size")
    parser.add_argument("--duplicate-rate", type=float, default=defaults.duplicate_rate)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument(
        "--corpus",
        type=Path,
        default=None,
        help=f"JSONL of base texts (default {DEFAULT_DEV_SET} when present, else seeds/)",
    )
    parser.add_argument(
        "--dedupe-replicas",
        type=int,
        default=defaults.dedupe_replicas,
        help="N for the second full-speed run (the first always has 1)",
    )
    parser.add_argument("--warmup-articles", type=int, default=defaults.warmup_articles)
    parser.add_argument(
        "--fractions",
        type=_fractions,
        default=defaults.fractions,
        help="loads for the latency runs, as fractions of the measured max (e.g. 0.25,0.5,0.8)",
    )
    parser.add_argument("--latency-seconds", type=float, default=defaults.latency_seconds)
    parser.add_argument("--latency-max-articles", type=int, default=defaults.latency_max_articles)
    parser.add_argument(
        "--growth-sizes",
        type=_sizes,
        default=defaults.growth_sizes,
        help="window sizes for the dedupe cost test (e.g. 1k,10k,100k)",
    )
    parser.add_argument("--growth-articles", type=int, default=defaults.growth_articles)
    parser.add_argument(
        "--cluster-articles",
        type=int,
        default=defaults.cluster_articles,
        help="articles for the cluster phase (single node vs a 3-master Redis Cluster)",
    )
    parser.add_argument("--cluster-partitions", type=int, default=defaults.cluster_partitions)
    parser.add_argument(
        "--cluster-ingest",
        type=int,
        default=defaults.cluster_ingest,
        help="ingest replicas on the cluster",
    )
    parser.add_argument("--batch", type=int, default=defaults.batch, help="publish batch")
    parser.add_argument("--out", type=Path, default=defaults.out, help="JSON results path")
    parser.add_argument("--no-plot", action="store_true", help="skip the PNG")
    parser.add_argument(
        "--profile", action="store_true", help="sample the services with py-spy during a slice"
    )
    parser.add_argument("--profile-articles", type=int, default=defaults.profile_articles)
    parser.add_argument(
        "--skip", action="append", choices=PHASES, default=[], help="leave a phase out"
    )
    parser.add_argument("--timeout", type=float, default=defaults.timeout, help="per phase, s")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, seconds (for tests)")
    args = parser.parse_args(list(argv) if argv is not None else None)
    if args.dedupe_replicas < 1:
        parser.error("--dedupe-replicas must be >= 1")
    if any(not 0 < f <= 1 for f in args.fractions):
        parser.error("--fractions must be in (0, 1]")
    options = BenchOptions(
        articles=args.articles,
        duplicate_rate=args.duplicate_rate,
        seed=args.seed,
        corpus=args.corpus,
        dedupe_replicas=args.dedupe_replicas,
        warmup_articles=args.warmup_articles,
        fractions=args.fractions,
        latency_seconds=args.latency_seconds,
        latency_max_articles=args.latency_max_articles,
        growth_sizes=args.growth_sizes,
        growth_articles=args.growth_articles,
        cluster_articles=args.cluster_articles,
        cluster_partitions=args.cluster_partitions,
        cluster_ingest=args.cluster_ingest,
        batch=args.batch,
        out=args.out,
        plot=not args.no_plot,
        profile=args.profile,
        profile_articles=args.profile_articles,
        skip=tuple(args.skip),
        timeout=args.timeout,
    )
    return options.quickened() if args.quick else options


class Progress:
    """Throttled progress lines: alive on long phases, quiet on short ones."""

    def __init__(self, console: Console, every_s: float = 2.0) -> None:
        self.console = console
        self.every_s = every_s
        self._last: dict[str, float] = {}

    def __call__(self, what: str, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self._last.get(what, 0.0) < self.every_s:
            return
        self._last[what] = now
        self.console.log(f"{what} {done:,}/{total:,}")


def _meta(options: BenchOptions, redis_url: str) -> dict[str, Any]:
    info: Any = redis.Redis.from_url(redis_url).info("server")
    opts = asdict(options)
    opts["out"] = str(options.out)
    opts["corpus"] = None if options.corpus is None else str(options.corpus)
    return {
        "started": datetime.now(UTC).isoformat(),
        "options": opts,
        "command": "wiredesk bench " + " ".join(sys.argv[1:]),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "redis_version": info.get("redis_version"),
        "valkey_version": info.get("valkey_version"),  # the embedded server is Valkey (7.2.4 above)
        "load_average_before": procfs.load_average(),
        "semantic_stage": DedupeSettings().semantic,  # the services inherit this environment
        "caveat": CAVEAT,
    }


def run(options: BenchOptions, console: Console) -> dict[str, Any]:
    """Run every phase the options ask for; returns the results (also what goes into the JSON)."""
    from wiredesk.embedded import EmbeddedRedis

    progress = Progress(console)
    bases = load_bases(options.corpus)
    corpus = generate(
        CorpusSpec(options.articles, options.duplicate_rate, options.seed, "bench"), bases
    )
    results: dict[str, Any] = {
        "corpus": {
            **corpus.summary(),
            "bases": len(bases),
            "base_source": str(
                options.corpus or (DEFAULT_DEV_SET if DEFAULT_DEV_SET.is_file() else "seeds/")
            ),
        }
    }
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="wiredesk-bench-") as tmp, EmbeddedRedis() as server:
        results["meta"] = _meta(options, server.url)
        if options.runs("limit"):
            from tools.bench.limit import run_limit

            console.log(f"raw pass-through limit: {len(corpus.articles):,} articles, 3 hops")
            results["limit"] = run_limit(
                server.url,
                corpus.raws,
                namespace="limit:",
                batch=options.batch,
                timeout=options.timeout,
            ).as_dict()
        if options.runs("pipeline") or options.runs("latency"):
            _pipeline(
                options,
                redis_url=server.url,
                redis_pid=server.pid,
                workdir=Path(tmp),
                raws=corpus.raws,
                results=results,
                progress=progress,
                console=console,
            )
        if options.runs("growth"):
            from tools.bench.growth import normalized, run_growth

            sample = generate(
                CorpusSpec(
                    options.growth_articles, options.duplicate_rate, options.seed + 7, "grow"
                ),
                bases,
            )
            console.log(f"dedupe cost vs window: sizes {list(options.growth_sizes)}")
            results["growth"] = asyncio.run(
                run_growth(
                    server.url,
                    options.growth_sizes,
                    normalized(sample.raws),
                    duplicate_rate=options.duplicate_rate,
                    seed=options.seed,
                    batch=options.batch,
                    progress=progress,
                )
            )
    if options.runs("cluster"):
        from tools.bench.cluster import compare

        head = corpus.raws[: options.cluster_articles]
        console.log(
            f"one node vs a 3-master cluster ({options.cluster_partitions} partitions, "
            f"ingest x{options.cluster_ingest}): {len(head):,} articles each"
        )
        results["cluster"] = compare(
            head,
            partitions=options.cluster_partitions,
            ingest=options.cluster_ingest,
            timeout=options.timeout,
        )
    results["meta"]["seconds"] = round(time.perf_counter() - started, 1)
    results["meta"]["load_average_after"] = procfs.load_average()
    results["targets"] = targets(results)
    return results


def _pipeline(
    options: BenchOptions,
    *,
    redis_url: str,
    redis_pid: int | None = None,
    workdir: Path,
    raws: list[Any],
    results: dict[str, Any],
    progress: Progress,
    console: Console,
) -> None:
    from tools.bench.pipeline import PipelineSession

    limit_rate = results.get("limit", {}).get("articles_per_s")
    runs: list[dict[str, Any]] = []
    for replicas in sorted({1, options.dedupe_replicas}):
        if replicas != 1 and not options.runs("pipeline"):
            continue
        console.log(f"wiredesk with dedupe x{replicas}: starting services")
        with PipelineSession(
            redis_url,
            namespace=f"r{replicas}:",
            workdir=workdir,
            dedupe_replicas=replicas,
            progress=progress,
            timeout=options.timeout,
            redis_pid=redis_pid,
        ) as session:
            warm = generate(
                CorpusSpec(
                    options.warmup_articles, options.duplicate_rate, options.seed + 1, "warm"
                )
            )
            session.run_phase("warm-up", warm.raws)
            console.log(f"dedupe x{replicas}: {len(raws):,} articles at full speed")
            phase = session.run_phase(f"full speed x{replicas}", raws)
            memory = session.memory()
            bound = work_bound(phase.cpu, os.cpu_count() or 1)
            staged = stage_bound(phase.cpu, {"dedupe": replicas}, os.cpu_count() or 1)
            machine = machine_bound(phase.cpu, phase.cpu_outside, os.cpu_count() or 1)
            runs.append(
                {
                    "dedupe_replicas": replicas,
                    "phase": phase.as_dict(),
                    "ratio_to_limit": ratio(phase.articles_per_s, limit_rate)
                    if limit_rate
                    else None,
                    "work_bound": bound,
                    "ratio_to_work_bound": _ratio_to(phase.articles_per_s, bound),
                    "stage_bound": staged,
                    "ratio_to_stage_bound": _ratio_to(phase.articles_per_s, staged),
                    "machine_bound": machine,
                    "ratio_to_machine_bound": _ratio_to(phase.articles_per_s, machine),
                    "rss": memory["rss"],
                }
            )
            if replicas == 1:
                results["memory"] = memory
                if options.runs("latency"):
                    results["latency"] = _latency(options, session, phase.articles_per_s, console)
                if options.profile:
                    results["profile"] = _profile(options, session, workdir, console)
    if runs:
        results["pipeline"] = runs


def _ratio_to(rate: float, bound: dict[str, Any] | None) -> float | None:
    """A run's rate over one of its limits (``work_bound`` and its kin), None without one."""
    return ratio(rate, bound["articles_per_s"]) if bound else None


def _latency(
    options: BenchOptions, session: Any, max_rate: float, console: Console
) -> dict[str, Any]:
    runs = []
    for number, fraction in enumerate(options.fractions):
        target = max(fraction * max_rate, 1.0)
        n = int(
            min(
                max(target * options.latency_seconds, options.latency_min_articles),
                options.latency_max_articles,
            )
        )
        corpus = generate(
            CorpusSpec(n, options.duplicate_rate, options.seed + 100 + number, f"lat{number}")
        )
        console.log(f"latency at {fraction:.0%} of max: {n:,} articles at {target:,.0f}/s")
        phase = session.run_phase(f"latency {fraction:.0%}", corpus.raws, target_rate=target)
        runs.append({"fraction": fraction, **phase.as_dict()})
    return {
        "max_rate": round(max_rate, 1),
        "dedupe_replicas": 1,
        "runs": runs,
        "how": "latency = store's stored_at (host clock, at the batch's upsert) minus the raw "
        "entry id (Redis' clock at XADD); published with wiredesk.replay.publish(rate=...) in "
        "bursts of ~10 ms",
    }


def _profile(
    options: BenchOptions, session: Any, workdir: Path, console: Console
) -> dict[str, Any]:
    from tools.bench.profile import Sampler, find_py_spy

    if find_py_spy() is None:
        console.log("[yellow]py-spy not found: no profile (pip install py-spy)[/]")
        return {"skipped": "py-spy not found"}
    out_dir = options.out.parent / "profile"
    sampler = Sampler(out_dir)
    corpus = generate(
        CorpusSpec(options.profile_articles, options.duplicate_rate, options.seed + 200, "prof")
    )
    console.log(f"profiling: py-spy on every service, {len(corpus.articles):,} articles")
    sampler.attach(session.pids())
    time.sleep(0.5)
    try:
        phase = session.run_phase("profile", corpus.raws)
    finally:
        summary = sampler.stop()
    summary["phase_articles_per_s"] = round(phase.articles_per_s, 1)
    return summary


def targets(results: dict[str, Any]) -> dict[str, Any]:
    """The issue's targets next to what was measured: reported, never asserted."""
    out: dict[str, Any] = {}
    single = next((r for r in results.get("pipeline", []) if r["dedupe_replicas"] == 1), None)
    semantic = results.get("meta", {}).get("semantic_stage", True)
    if single is not None and single.get("ratio_to_limit") is not None and not semantic:
        out["end_to_end_vs_limit"] = {
            "target": ">= 0.40 (without the semantic stage)",
            "measured": single["ratio_to_limit"],
        }
    if single is not None and semantic:
        out["articles_per_s"] = {
            "target": ">= 300 (with the semantic stage)",
            "measured": single["phase"]["articles_per_s"],
        }
    if single is not None and single.get("ratio_to_work_bound") is not None:
        out["end_to_end_vs_work_bound"] = {
            "target": ">= 0.90 (issue 19)",
            "measured": single["ratio_to_work_bound"],
        }
    if single is not None and single.get("ratio_to_stage_bound") is not None:
        out["end_to_end_vs_stage_bound"] = {
            "target": ">= 0.90 (issue 19, with one core per replica)",
            "measured": single["ratio_to_stage_bound"],
            "binding": single["stage_bound"]["binding"],
        }
    latency = results.get("latency")
    if latency:
        half = min(latency["runs"], key=lambda r: abs(r["fraction"] - 0.5))
        out["p99_ms_at_50pct"] = {
            "target": "<= 250",
            "measured": half["latency_ms"].get("p99"),
            "fraction": half["fraction"],
        }
    growth = results.get("growth")
    if growth:
        out["dedupe_cost_growth"] = {
            "target": "<= 2.0 (100k vs 1k window)",
            "measured": growth["growth"]["cost_ratio"],
        }
    return out


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m tools.bench`` and ``wiredesk bench``; returns the exit code."""
    options = parse_args(argv)
    console = Console()
    try:
        results = run(options, console)
    except KeyboardInterrupt:
        console.print("[red]interrupted[/]")
        return 130
    except Exception as exc:  # a failed phase: say which and why, exit non-zero
        from tools.bench.pipeline import BenchError

        if not isinstance(exc, BenchError | RuntimeError):
            raise
        console.print(f"[red]bench failed:[/] {exc}")
        return 1
    write_json(results, options.out)
    print_tables(results, console)
    console.print(f"results: {options.out}")
    if options.plot:
        png = options.out.with_suffix(".png")
        reason = plot(results, png)
        console.print(f"plot: {png}" if reason is None else f"[yellow]{reason}[/]")
    console.print(f"[dim]{CAVEAT}[/]")
    return 0

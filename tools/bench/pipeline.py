"""wiredesk end to end: the real services as processes on a private Redis, timed from the outside.

A :class:`PipelineSession` starts ingest, dedupe (``replicas`` of it) and store as separate
processes (``wiredesk.app.launcher``, the launcher the demo and the e2e tests use) under a fresh
stream and key namespace and a fresh SQLite file, waits until every replica is reading, warms up
(the first batch loads the language model, opens the database, compiles the scripts), and then
runs *phases*: publish a slice of the corpus, at full speed or at a fixed rate, and wait until the
store holds all of it.

Where the times come from, and why:

- *publish time* of an article: the id of its ``articles:raw`` entry. Redis stamps it when the
  ``XADD`` executes, so it is the moment the article entered the pipeline, on the host's clock.
- *store time*: the article's ``stored_at`` column, written by the store with the host's clock when
  it upserts the batch (just before the commit; the commit itself, a few ms, is not included).
  Same machine, same clock: ``stored_at - publish`` is the end-to-end latency of each article.
  Polling the database from here would add the polling interval to every sample; this does not.
- *per stage*: the entry ids of each stream (``normalized`` = ingest's output times, ``annotated``
  = dedupe's) give each hop's output rate; ``stored_at`` gives the store's.
- *CPU per stage*: user+system seconds of each service's processes over the phase, from /proc:
  the least noisy number on a shared machine, and the one that shows the bottleneck.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import orjson
import redis
from redis.asyncio import Redis

from services.store.base import Store
from services.store.db import open_store
from tools.bench import procfs
from tools.bench.stats import entry_ms, iso_to_ms, rate, span_rate, summarize
from wiredesk.app.launcher import ServiceProcesses
from wiredesk.keys import Keys
from wiredesk.messages import RawArticle
from wiredesk.replay import publish
from wiredesk.settings import Streams, WiredeskSettings

Progress = Callable[[str, int, int], None]
"""``progress(what, done, total)``: how long phases report that they are alive."""


class BenchError(RuntimeError):
    """The pipeline did not do what the benchmark needs (a service died, a timeout)."""


class StoreReader:
    """Reads the store's database from outside, through the store's own interface
    (``open_store``, ``count_articles``, ``stored_at``): the schema is the store's, it migrates
    it."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self._store: Store | None = None

    def _open(self) -> Store:
        if self._store is None:
            self._store = open_store(self.database_url)
        return self._store

    def count(self) -> int:
        try:
            return self._open().count_articles()
        except Exception:  # the store has not created its tables yet: nothing stored
            return 0

    def stored_times(self, ids: set[str]) -> dict[str, float]:
        """``article id -> stored_at`` in epoch ms, for the given ids."""
        stored = self._open().stored_at(sorted(ids))
        return {article_id: iso_to_ms(at) for article_id, at in stored.items()}

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


@dataclass(slots=True)
class PhaseResult:
    """One published slice: throughput, per-stage rates, latencies and CPU."""

    label: str
    articles: int
    stored: int
    target_rate: float | None
    publish_rate: float
    seconds: float
    articles_per_s: float
    wall_seconds: float
    latency_ms: dict[str, float | int]
    dedupe_latency_ms: dict[str, float | int]
    ingest_latency_ms: dict[str, float | int]
    stages: dict[str, dict[str, Any]]
    cpu: dict[str, dict[str, float | None]]
    dead_lettered: int
    samples: list[float] = field(default_factory=list)
    cpu_outside: dict[str, dict[str, float | None]] = field(default_factory=dict)
    """CPU of what shares the machine with the stages but is not one: the Redis server and
    this benchmark process (publisher, store polling), per article of the phase."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "articles": self.articles,
            "stored": self.stored,
            "target_rate": None if self.target_rate is None else round(self.target_rate, 1),
            "publish_rate": round(self.publish_rate, 1),
            "seconds": round(self.seconds, 3),
            "articles_per_s": round(self.articles_per_s, 1),
            "wall_seconds": round(self.wall_seconds, 3),
            "latency_ms": self.latency_ms,
            "latency_to_normalized_ms": self.ingest_latency_ms,
            "latency_to_annotated_ms": self.dedupe_latency_ms,
            "stages": self.stages,
            "cpu_outside": self.cpu_outside,
            "cpu": self.cpu,
            "dead_lettered": self.dead_lettered,
        }


def _per_article(used: float | None, n: int) -> dict[str, float | None]:
    """CPU seconds a phase of ``n`` articles used (None: unknown), and articles per
    CPU-second: each entry of a phase's ``cpu`` and ``cpu_outside``."""
    return {
        "cpu_seconds": round(used, 3) if used is not None else None,
        "articles_per_cpu_s": round(n / used, 1) if used is not None and used > 0 else None,
    }


def _used(before: float | None, after: float | None) -> float | None:
    return after - before if before is not None and after is not None else None


class PipelineSession:
    """The services on one namespace of a private Redis, from start to clean stop."""

    def __init__(
        self,
        redis_url: str,
        *,
        namespace: str,
        workdir: Path,
        dedupe_replicas: int = 1,
        progress: Progress | None = None,
        timeout: float = 600.0,
        extra_env: dict[str, str] | None = None,
        redis_pid: int | None = None,
    ) -> None:
        self.redis_url = redis_url
        self.outside = {"bench": os.getpid(), **({"redis": redis_pid} if redis_pid else {})}
        """Processes whose CPU each phase reports beside the stages' (``cpu_outside``)."""
        self.namespace = namespace
        self.streams = Streams().prefixed(namespace)
        self.key_prefix = f"{namespace}wd"
        self.keys = Keys.from_settings(
            WiredeskSettings(streams=self.streams, key_prefix=self.key_prefix, partitions=1)
        )
        self.dedupe_replicas = dedupe_replicas
        self.workdir = workdir
        self.database_url = f"sqlite:///{workdir / (namespace.strip(':') + '-store.db')}"
        self.progress = progress
        self.timeout = timeout
        self.env = {
            "REDIS_URL": redis_url,
            "WIREDESK_KEY_PREFIX": self.key_prefix,
            "WIREDESK_DATABASE_URL": self.database_url,
            **self.streams.env(),
            **(extra_env or {}),
        }
        self.services = ServiceProcesses(
            self.env,
            replicas={"dedupe": dedupe_replicas},
            log_dir=workdir / f"logs-{namespace.strip(':')}",
        )
        self.client = redis.Redis.from_url(redis_url)
        self.store = StoreReader(self.database_url)
        self.published = 0

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> PipelineSession:
        self.services.start()
        try:
            self._wait_ready()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self.store.close()
        self.services.stop()
        self.client.close()

    def _inputs(self) -> list[tuple[str, str, int]]:
        return [
            (self.streams.raw, "ingest", 1),
            (self.streams.normalized, "dedupe", self.dedupe_replicas),
            (self.streams.annotated, "store", 1),
        ]

    def _wait_ready(self) -> None:
        """Every replica has started its stage (then the warm-up phase proves the path).

        A replica counts as started when it is a registered consumer of its group or its log
        says ``stage started``: Redis before 7.2 registers a consumer only once an XREADGROUP
        delivered something, so on an idle stream the log line is the only outside sign.
        """
        deadline = time.monotonic() + min(self.timeout, 120.0)
        while True:
            self._check_alive("starting")
            ready = 0
            for stream, group, replicas in self._inputs():
                try:
                    consumers = len(self.client.xinfo_consumers(stream, group))
                except redis.ResponseError:
                    continue
                # the default group names are the service names (and the log files' prefixes)
                ready += max(consumers, self._started_in_logs(group)) >= replicas
            if ready == len(self._inputs()):
                return
            if time.monotonic() > deadline:
                raise BenchError(f"services not ready in time; logs in {self.services.log_dir}")
            time.sleep(0.1)

    def _started_in_logs(self, service: str) -> int:
        log_dir = self.services.log_dir
        if log_dir is None:
            return 0
        started = 0
        for path in log_dir.glob(f"{service}-*.log"):
            try:
                started += "stage started" in path.read_text(errors="replace")
            except OSError:
                continue
        return started

    def _check_alive(self, what: str) -> None:
        dead = {s: n for s, n in self.services.alive().items() if n == 0}
        if dead:
            raise BenchError(
                f"service(s) {sorted(dead)} exited while {what}; logs in {self.services.log_dir}"
            )

    def pids(self) -> dict[str, list[int]]:
        return {s: [p.pid for p in ps] for s, ps in self.services.procs.items()}

    # -- phases ------------------------------------------------------------------------------

    def _publish(self, articles: Sequence[RawArticle], target: float | None) -> float:
        async def go() -> float:
            client = Redis.from_url(self.redis_url)
            started = time.perf_counter()
            try:
                batch = 200 if target is None else max(1, round(target / 100))
                await publish(client, self.streams.raw, articles, rate=target, batch=batch)
            finally:
                await client.aclose()
            return rate(len(articles), time.perf_counter() - started)

        return asyncio.run(go())

    def _redis_ms(self) -> int:
        seconds, micros = self.client.time()
        return int(seconds) * 1000 + int(micros) // 1000

    def _cpu(self) -> dict[int, float | None]:
        return {pid: procfs.cpu_seconds(pid) for ps in self.pids().values() for pid in ps}

    def _wait_stored(self, expected: int, label: str, dlq_before: int) -> int:
        deadline = time.monotonic() + self.timeout
        last_report = 0.0
        while True:
            stored = self.store.count()
            dead = int(self.client.xlen(self.streams.dlq)) - dlq_before
            if stored + dead >= expected:
                return dead
            self._check_alive(f"running phase {label}")
            if time.monotonic() > deadline:
                raise BenchError(
                    f"phase {label}: timed out with {stored} of {expected} stored; "
                    f"logs in {self.services.log_dir}"
                )
            now = time.monotonic()
            if self.progress is not None and now - last_report > 1.0:
                self.progress(
                    f"{label}: stored", stored - (expected - self._phase_n), self._phase_n
                )
                last_report = now
            time.sleep(0.02)

    _phase_n: int = 0

    def run_phase(
        self, label: str, articles: Sequence[RawArticle], *, target_rate: float | None = None
    ) -> PhaseResult:
        """Publish ``articles`` (full speed or at ``target_rate``/s) and wait until stored."""
        n = len(articles)
        self._phase_n = n
        lens_before = {name: self._xlen(s) for name, s in self._stream_map().items()}
        stored_before = self.store.count()
        cpu_before = self._cpu()
        outside_before = {name: procfs.cpu_seconds(pid) for name, pid in self.outside.items()}
        start_ms = self._redis_ms()
        wall = time.perf_counter()
        if self.progress is not None:
            self.progress(f"{label}: publishing", 0, n)
        publish_rate = self._publish(articles, target_rate)
        dead = self._wait_stored(stored_before + n, label, lens_before["dlq"])
        wall_seconds = time.perf_counter() - wall
        cpu_after = self._cpu()
        outside_after = {name: procfs.cpu_seconds(pid) for name, pid in self.outside.items()}
        self.published += n
        ids = {a.id for a in articles}
        raw_ms = self._ids_to_ms(self.streams.raw, start_ms, ids)
        normalized_ms = self._ids_to_ms(self.streams.normalized, start_ms, ids)
        annotated_ms = self._ids_to_ms(self.streams.annotated, start_ms, ids)
        stored_ms = self.store.stored_times(ids)
        latencies = [stored_ms[i] - raw_ms[i] for i in stored_ms if i in raw_ms]
        to_normalized = [float(normalized_ms[i] - raw_ms[i]) for i in normalized_ms if i in raw_ms]
        to_annotated = [float(annotated_ms[i] - raw_ms[i]) for i in annotated_ms if i in raw_ms]
        first = min(raw_ms.values()) if raw_ms else float(start_ms)
        last = max(stored_ms.values()) if stored_ms else first
        seconds = max(last - first, 1.0) / 1000.0
        stages = self._stage_rates(start_ms, lens_before, stored_ms)
        cpu = self._cpu_per_service(cpu_before, cpu_after, n)
        return PhaseResult(
            label=label,
            articles=n,
            stored=len(stored_ms),
            target_rate=target_rate,
            publish_rate=publish_rate,
            seconds=seconds,
            articles_per_s=rate(len(stored_ms), seconds),
            wall_seconds=wall_seconds,
            latency_ms=summarize(latencies),
            dedupe_latency_ms=summarize(to_annotated),
            ingest_latency_ms=summarize(to_normalized),
            stages=stages,
            cpu=cpu,
            dead_lettered=dead,
            samples=latencies,
            cpu_outside={
                name: _per_article(_used(outside_before[name], outside_after[name]), n)
                for name in self.outside
            },
        )

    def _stream_map(self) -> dict[str, str]:
        s = self.streams
        return {
            "raw": s.raw,
            "normalized": s.normalized,
            "annotated": s.annotated,
            "unique": s.unique,
            "dlq": s.dlq,
        }

    def _xlen(self, stream: str) -> int:
        return int(self.client.xlen(stream))

    def _ids_to_ms(self, stream: str, start_ms: int, ids: set[str]) -> dict[str, float]:
        """``article id -> entry ms`` for this phase's entries of a stream (ids in the JSON)."""
        out: dict[str, float] = {}
        cursor = f"{start_ms}-0"
        while True:
            page: Any = self.client.xrange(stream, min=cursor, max="+", count=2000)
            for entry_id, fields in page:
                article_id = orjson.loads(fields[b"data"]).get("id")
                if article_id in ids:
                    out[article_id] = float(entry_ms(entry_id))
            if len(page) < 2000:
                return out
            cursor = "(" + page[-1][0].decode()

    def _stage_rates(
        self, start_ms: int, before: dict[str, int], stored_ms: dict[str, float]
    ) -> dict[str, dict[str, Any]]:
        """Entries per second of each stream over this phase, from its first to last entry."""
        out: dict[str, dict[str, Any]] = {}
        producers = {"raw": "publish", "normalized": "ingest", "annotated": "dedupe"}
        for name, stream in self._stream_map().items():
            if name not in producers:
                continue
            count = self._xlen(stream) - before[name]
            first: Any = self.client.xrange(stream, min=f"{start_ms}-0", max="+", count=1)
            last: Any = self.client.xrevrange(stream, count=1)
            if count <= 0 or not first or not last:
                continue
            lo, hi = entry_ms(first[0][0]), entry_ms(last[0][0])
            out[producers[name]] = {
                "stream": name,
                "entries": count,
                "entries_per_s": round(span_rate(count, lo, hi), 1),
            }
        if stored_ms:
            lo_f, hi_f = min(stored_ms.values()), max(stored_ms.values())
            out["store"] = {
                "stream": "sql",
                "entries": len(stored_ms),
                "entries_per_s": round(span_rate(len(stored_ms), lo_f, hi_f), 1),
            }
        return out

    def _cpu_per_service(
        self, before: dict[int, float | None], after: dict[int, float | None], n: int
    ) -> dict[str, dict[str, float | None]]:
        out: dict[str, dict[str, float | None]] = {}
        for service, pids in self.pids().items():
            known = [u for pid in pids if (u := _used(before.get(pid), after.get(pid))) is not None]
            out[service] = _per_article(sum(known) if known else None, n)
        return out

    # -- memory ------------------------------------------------------------------------------

    def memory(self) -> dict[str, Any]:
        """Redis bytes per article by holder (dedupe log, ingest replay keys, each stream) and
        RSS per service process. ``MEMORY USAGE ... SAMPLES 0`` counts every element exactly."""
        log_key = self.keys.dedupe_log
        keys: list[bytes] = list(self.client.scan_iter(match=f"{self.namespace}*", count=1000))
        usage: dict[str, int] = {}
        counts: dict[str, int] = {}
        streams = {v: k for k, v in self._stream_map().items()}
        for offset in range(0, len(keys), 1000):
            chunk = keys[offset : offset + 1000]
            pipe = self.client.pipeline(transaction=False)
            for key in chunk:
                pipe.memory_usage(key, samples=0)
            for key, used in zip(chunk, pipe.execute(), strict=True):
                name = key.decode()
                if name == log_key:
                    holder = "dedupe_log"
                elif name in streams:
                    holder = f"stream:{streams[name]}"
                elif name.startswith(f"{self.key_prefix}:seen:"):
                    holder = "ingest_seen_keys"
                else:
                    holder = "other"
                usage[holder] = usage.get(holder, 0) + int(used or 0)
                counts[holder] = counts.get(holder, 0) + 1
        log_len = self._xlen(log_key) if self.client.exists(log_key) else 0
        articles = max(self.published, 1)
        stream_bytes = sum(v for k, v in usage.items() if k.startswith("stream:"))
        rss: dict[str, list[dict[str, int | None]]] = {}
        for service, pids in self.pids().items():
            rss[service] = [
                {"pid": pid, "rss": procfs.rss_bytes(pid), "peak_rss": procfs.peak_rss_bytes(pid)}
                for pid in pids
            ]
        return {
            "articles": self.published,
            "dedupe_log_records": log_len,
            "bytes": usage,
            "keys": counts,
            "dedupe_state_bytes_per_article": round(
                usage.get("dedupe_log", 0) / max(log_len, 1), 1
            ),
            "ingest_seen_bytes_per_article": round(usage.get("ingest_seen_keys", 0) / articles, 1),
            "streams_bytes_per_article": round(stream_bytes / articles, 1),
            "per_stream_bytes_per_article": {
                k.removeprefix("stream:"): round(v / articles, 1)
                for k, v in usage.items()
                if k.startswith("stream:")
            },
            "rss": rss,
        }

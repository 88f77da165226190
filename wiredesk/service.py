"""The stage runtime: the control loop that feeds one stage and keeps it going.

A service's FastStream subscriber (its ``app.py``, hosted by :mod:`wiredesk.host`) hands each
delivered batch to :meth:`StageRunner.process`; the runner does the rest, the same for every stage.

What every stage gets from here, so no service re-implements it:

- acks left to the stage: it acks in its own atomic commit, never FastStream (an auto-ack after
  the handler would not be atomic with the outputs, and FastStream's ``nack`` is a no-op on Redis);
- groups created at id ``0`` before FastStream starts (its default ``$`` would skip entries
  published before the first consumer came up);
- a reclaim loop beside the reader (FastStream's ``min_idle_time`` would replace the reader with an
  XAUTOCLAIM-only loop): entries idle past ``claim_idle_ms`` are claimed, and those delivered more
  than ``max_attempts`` times go to the dead-letter stream with the last error;
- a batch in hand kept claimed (its entries' idle time reset every third of ``claim_idle_ms``,
  delivery counts unchanged), so a batch slower than ``claim_idle_ms`` is not reclaimed from a
  live replica, nor dead-lettered for its deliveries;
- poison isolation: when a batch fails, its entries are retried one by one, so one bad entry cannot
  hold the others back;
- metrics, health/readiness, structured logs; graceful shutdown comes from FastStream (SIGTERM
  stops the reader, waits for the batch in hand up to ``graceful_timeout_s``, exits 0; what is
  not acked stays pending and is reclaimed); the reclaim loop is asked to stop too and may finish
  the pass in hand within the same grace period before it is cancelled;
- Redis outages: the client retries a failed command with exponential backoff and jitter
  (:func:`wiredesk.cluster.async_client`), the reclaim loop backs off the same way, FastStream's
  reader retries every 5 s, and a batch that fails because Redis is unreachable is left pending
  as a whole instead of being split for poison isolation (one entry at a time, each waiting out
  the retries, would stall the stage for minutes and mark healthy entries as failed).

Retrying a command whose reply was lost is safe because every write is guarded: the commit
script acks first and adds outputs only if the ack took, dedupe's commit checks the log head,
the store upserts by id and XACK is idempotent.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import random
import time
from collections.abc import Callable, Coroutine
from typing import Any, Protocol, cast

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from wiredesk.cluster import FAILOVER_ERRORS, async_client, attach_default_wait, wait_for
from wiredesk.collector import collector_for
from wiredesk.deadletter import DeadLetterPolicy
from wiredesk.errors import is_permanent
from wiredesk.monitoring import oldest_pending_age_s, register_stage_series
from wiredesk.observability import (
    FAILED,
    LAG,
    LATENCY,
    OLDEST_PENDING,
    PENDING,
    RECLAIMED,
    serve_health,
)
from wiredesk.retention import trim_consumed
from wiredesk.settings import WiredeskSettings
from wiredesk.streaming import (
    Entry,
    StreamCommitter,
    ensure_group,
    keep_claimed,
    reclaim,
    text_of,
)
from wiredesk.tracing import stage_spans, tracer

log = logging.getLogger(__name__)

#: Errors that mean "Redis is unreachable", not "this entry is bad" (BusyLoadingError, raised
#: while a restarted server loads its AOF, is a ConnectionError).
UNAVAILABLE: tuple[type[Exception], ...] = (RedisConnectionError, RedisTimeoutError)
UNAVAILABLE += FAILOVER_ERRORS  # a Redis Cluster electing a new master (wiredesk.cluster)


class Backoff:
    """Exponential backoff with full jitter for a loop that must keep going through outages."""

    def __init__(self, *, base: float, cap: float) -> None:
        self.base, self.cap = base, cap
        self.failures = 0

    def reset(self) -> None:
        self.failures = 0

    def next_delay(self) -> float:
        self.failures += 1
        return random.uniform(0, min(self.cap, self.base * 2 ** min(self.failures, 16)))


class Stage(Protocol):
    """A service's domain: takes a batch of entries and commits each, or leaves it pending."""

    name: str
    input_stream: str
    group: str

    async def setup(self, redis: Redis) -> None:
        """Prepare state (scripts, caches, databases) before the first batch."""

    async def handle(self, entries: list[Entry]) -> None:
        """Process and acknowledge entries; raise to leave them pending for a retry."""

    async def close(self) -> None:
        """Release resources on shutdown."""


def freeze_loaded_heap() -> None:
    """Move everything loaded so far out of the garbage collector's reach.

    What a stage loads at start-up (libraries, the model, a replayed dedupe window) lives as
    long as the process; left to the collector, every full collection rescans it, pausing the
    stage for ~100 ms (measured in dedupe; its p99 latency at half load fell from 275 to 79 ms).
    """
    gc.collect()
    gc.freeze()


class _ClaimKeeper:
    """Calls ``touch`` every ``period_s`` until cancelled, from a timer: a batch that ends
    within the first period (nearly all) costs one timer, no task and no extra turn of the
    event loop."""

    def __init__(self, touch: Callable[[], Coroutine[Any, Any, None]], period_s: float) -> None:
        self._touch, self._period_s = touch, period_s
        self._loop = asyncio.get_running_loop()
        self._task: asyncio.Task[None] | None = None
        self._handle = self._loop.call_later(period_s, self._fire)

    def _fire(self) -> None:
        if self._task is None or self._task.done():  # never two touches at once
            self._task = self._loop.create_task(self._touch(), name="keep-claimed")
        self._handle = self._loop.call_later(self._period_s, self._fire)

    def cancel(self) -> None:
        self._handle.cancel()
        if self._task is not None:
            self._task.cancel()


class StageRunner:
    """Feeds a stage, isolates failures, reclaims and dead-letters; the service's control loop."""

    def __init__(self, stage: Stage, settings: WiredeskSettings, redis: Any = None) -> None:
        self.stage = stage
        self.settings = settings
        self._collector = collector_for(settings.gc)
        # ``redis``: the client of the process, shared by its runners (wiredesk.host)
        self._owns_redis = redis is None
        self.redis: Redis = cast(
            Redis, async_client(settings, cluster=False) if redis is None else redis
        )
        self.committer = StreamCommitter(
            self.redis,
            input_stream=stage.input_stream,
            group=stage.group,
            dlq=DeadLetterPolicy.of(settings),
        )
        self._errors_key = getattr(stage, "errors_key", None) or settings.key("errors", stage.name)
        self._dlq_stream: str = getattr(stage, "dlq_stream", None) or settings.streams.dlq
        self._tasks: list[asyncio.Task[Any]] = []
        self._last_trim = time.monotonic()
        self._health: asyncio.Server | None = None
        self._stopping = asyncio.Event()
        self._in_flight: set[str] = set()
        self.ready = False

    async def start(self) -> None:
        if self._owns_redis:  # WIREDESK_WAIT_REPLICAS (a shared client has it attached)
            self.committer.wait = await attach_default_wait(self.redis, self.settings)
        else:  # attached by the host after this runner was made
            self.committer.wait = wait_for(self.redis)
        await ensure_group(self.redis, self.stage.input_stream, self.stage.group)
        await self.stage.setup(self.redis)
        register_stage_series(self.stage.name, getattr(self.stage, "outcomes", ()))
        tracer(self.stage.name)  # WIREDESK_TRACING without its packages fails here, not per batch
        if self._collector is not None:
            self._collector.install()
        else:
            freeze_loaded_heap()
        self._tasks.append(asyncio.create_task(self._reclaim_loop(), name="reclaim"))
        if self.settings.metrics_port is not None:
            self._health = await serve_health(
                self.settings.metrics_port, self.is_ready, host=self.settings.metrics_host
            )
        self.ready = True
        log.info(
            "stage started",
            extra={
                "stage": self.stage.name,
                "stream": self.stage.input_stream,
                "group": self.stage.group,
                "consumer": self.settings.consumer,
                "redis": self.settings.safe_redis_url,
            },
        )

    async def stop(self) -> None:
        """Let the reclaim loop finish the pass in hand (within the grace period), then close.

        Cancelling it mid-pass would be safe (every step is atomic, unacked work is redelivered)
        but wasteful: a reclaimed batch would wait another ``claim_idle_ms`` to be retried.
        """
        self.ready = False
        self._stopping.set()
        if self._tasks:
            _, unfinished = await asyncio.wait(
                self._tasks, timeout=self.settings.graceful_timeout_s
            )
            for task in unfinished:
                task.cancel()
            for task in self._tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if self._health is not None:
            self._health.close()
        await self.stage.close()
        if self._owns_redis:
            await self.redis.aclose()
        log.info("stage stopped", extra={"stage": self.stage.name})

    async def is_ready(self) -> bool:
        if not self.ready:
            return False
        try:
            return bool(await self.redis.ping())
        except Exception:
            return False

    async def process(self, entries: list[Entry]) -> None:
        """Handle a batch, remembering its ids as in flight so reclaim leaves them alone."""
        if not entries:
            return
        ids = [entry.id for entry in entries]
        self._in_flight.update(ids)
        keeper = _ClaimKeeper(lambda: self._keep_claimed(ids), self._keep_period_ms / 1000)
        try:
            await self._process(entries)
        finally:
            keeper.cancel()
            self._in_flight.difference_update(ids)
        if self._collector is not None:
            self._collector.after_batch()

    @property
    def _keep_period_ms(self) -> int:
        return max(self.settings.claim_idle_ms // 3, 1)

    async def _keep_claimed(self, ids: list[str]) -> None:
        """Reset the idle time of a batch in hand (``streaming.keep_claimed``), every third of
        ``claim_idle_ms`` while it lasts (``_ClaimKeeper``): a batch that takes longer than
        ``claim_idle_ms`` (hundreds of articles each needing a model, say) is not reclaimed
        from a live replica, and its entries' delivery counts do not grow towards
        ``max_attempts``. A replica that dies stops doing this, so its entries are reclaimed
        as before."""
        try:
            await keep_claimed(
                self.redis,
                stream=self.stage.input_stream,
                group=self.stage.group,
                consumer=self.settings.consumer,
                ids=ids,
                min_idle_ms=self._keep_period_ms,
            )
        except Exception as exc:  # Redis away: the next tick, or reclaim, takes over
            log.debug("could not keep a batch claimed", extra={"error": repr(exc)})

    async def _process(self, entries: list[Entry]) -> None:
        """Handle a batch; on failure fall back to one entry at a time to isolate the poison."""
        with LATENCY.labels(self.stage.name).time():
            try:
                with stage_spans(self.stage.name, self.stage.input_stream, entries):
                    await self.stage.handle(entries)
            except UNAVAILABLE as exc:
                log.warning(
                    "redis unavailable; batch left pending for reclaim",
                    extra={"stage": self.stage.name, "size": len(entries), "error": repr(exc)},
                )
                return
            except Exception as exc:
                if len(entries) == 1:
                    if is_permanent(exc):
                        await self._dead_letter_now(entries[0], exc)
                    else:
                        await self._record_failure(entries[0], exc)
                    return
                log.warning(
                    "batch failed, retrying entries one by one",
                    extra={"stage": self.stage.name, "size": len(entries), "error": repr(exc)},
                )
            else:
                return
        for entry in entries:
            await self._process([entry])

    async def _dead_letter_now(self, entry: Entry, exc: Exception) -> None:
        """A failure that every retry would repeat (wiredesk.errors): dead-letter it now."""
        FAILED.labels(self.stage.name).inc()
        log.warning(
            "entry failed permanently; dead-lettering it",
            extra={"stage": self.stage.name, "entry_id": entry.id, "error": repr(exc)[:300]},
        )
        await self.committer.dead_letter(
            entry,
            dlq_stream=self.settings.streams.dlq,
            stage=self.stage.name,
            reason="unprocessable",
            error=f"{type(exc).__name__}: {exc}",
        )

    async def _record_failure(self, entry: Entry, exc: Exception) -> None:
        FAILED.labels(self.stage.name).inc()
        log.exception(
            "entry failed; left pending for retry",
            extra={"stage": self.stage.name, "entry_id": entry.id, "deliveries": entry.deliveries},
            exc_info=exc,
        )
        with contextlib.suppress(Exception):
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.hset(self._errors_key, entry.id, f"{type(exc).__name__}: {exc}"[:2000])
                pipe.expire(self._errors_key, 7 * 24 * 3600)
                await pipe.execute()

    async def reclaim_once(self) -> int:
        """Claim stale entries; dead-letter the ones out of attempts, process the rest."""
        entries = await reclaim(
            self.redis,
            stream=self.stage.input_stream,
            group=self.stage.group,
            consumer=self.settings.consumer,
            min_idle_ms=self.settings.claim_idle_ms,
            count=self.settings.batch_size,
        )
        # XAUTOCLAIM also returns this process's own entries when a batch takes longer than
        # claim_idle_ms; handling them a second time concurrently would be wasted work.
        entries = [entry for entry in entries if entry.id not in self._in_flight]
        if not entries:
            return 0
        RECLAIMED.labels(self.stage.name).inc(len(entries))
        settle = getattr(self.stage, "settle_reclaimed", None)
        if settle is not None:  # finish what a stage already decided before dead-lettering
            entries = await settle(entries)
        retry: list[Entry] = []
        for entry in entries:
            if entry.deliveries > self.settings.max_attempts:
                raw_error = await self.redis.hget(self._errors_key, entry.id)
                error = (
                    text_of(raw_error or "")
                    or "no error recorded (the consumer died while handling it?)"
                )
                await self.committer.dead_letter(
                    entry,
                    dlq_stream=self._dlq_stream,
                    stage=self.stage.name,
                    reason="max-attempts",
                    error=error,
                )
                await self.redis.hdel(self._errors_key, entry.id)
            else:
                retry.append(entry)
        await self.process(retry)
        return len(entries)

    async def _reclaim_loop(self) -> None:
        backoff = Backoff(base=self.settings.claim_interval_s, cap=10.0)
        delay = self.settings.claim_interval_s
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=delay)
                return
            try:
                while (
                    await self.reclaim_once() >= self.settings.batch_size
                    and not self._stopping.is_set()
                ):
                    pass
                await self._update_lag()
                await self._maybe_trim()
            except asyncio.CancelledError:
                raise
            except UNAVAILABLE as exc:
                delay = backoff.next_delay()
                log.warning(
                    "reclaim pass failed: redis unavailable",
                    extra={
                        "stage": self.stage.name,
                        "retry_in_s": round(delay, 2),
                        "error": repr(exc),
                    },
                )
            except Exception:
                delay = backoff.next_delay()
                log.exception("reclaim pass failed", extra={"stage": self.stage.name})
            else:
                backoff.reset()
                delay = self.settings.claim_interval_s

    async def _maybe_trim(self) -> None:
        """Trim the input stream below what every group consumed, once per trim interval."""
        keep_s = self.settings.retention_keep_s
        now = time.monotonic()
        if keep_s is None or now - self._last_trim < self.settings.trim_interval_s:
            return
        self._last_trim = now
        result = await trim_consumed(
            self.redis, self.stage.input_stream, keep_ms=keep_s * 1000, approximate=True
        )
        if result.trimmed:
            log.info(
                "trimmed consumed entries",
                extra={
                    "stage": self.stage.name,
                    "stream": self.stage.input_stream,
                    "trimmed": result.trimmed,
                },
            )

    async def _update_lag(self) -> None:
        part = str(getattr(self.stage, "partition", 0))
        for group in await self.redis.xinfo_groups(self.stage.input_stream):
            name = group["name"]
            if text_of(name) != self.stage.group:
                continue
            PENDING.labels(self.stage.name, part).set(int(group["pending"]))
            lag = group.get("lag")
            if lag is not None:
                LAG.labels(self.stage.name, part).set(int(lag))
        OLDEST_PENDING.labels(self.stage.name, part).set(
            await oldest_pending_age_s(self.redis, self.stage.input_stream, self.stage.group)
        )

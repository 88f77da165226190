"""Structured logs, Prometheus metrics and a health endpoint, the same for every service."""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

PROCESSED = Counter(
    "wiredesk_processed_total", "Entries handled to completion", ["stage", "outcome"]
)
FAILED = Counter(
    "wiredesk_failed_total", "Entries whose handling raised (will be retried)", ["stage"]
)
DEAD_LETTERED = Counter(
    "wiredesk_dead_lettered_total", "Entries moved to the dead-letter stream", ["stage", "reason"]
)
CHARS_REMOVED = Counter(
    "wiredesk_chars_removed_total", "Characters ingest removed from articles", ["stage", "kind"]
)
RECLAIMED = Counter("wiredesk_reclaimed_total", "Entries claimed from dead consumers", ["stage"])
LATENCY = Histogram(
    "wiredesk_batch_seconds",
    "Time to handle one batch",
    ["stage"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
# Per partition: replicas of a partitioned layout run one runner per partition in one process,
# and one gauge per stage would show whichever partition was measured last ("0" on one stream).
LAG = Gauge("wiredesk_group_lag", "Entries not yet delivered to the group", ["stage", "partition"])
PENDING = Gauge(
    "wiredesk_group_pending", "Entries delivered but not acknowledged", ["stage", "partition"]
)
OLDEST_PENDING = Gauge(
    "wiredesk_group_oldest_pending_seconds",
    "Age of the oldest entry pending for the group (from its stream id), 0 when none",
    ["stage", "partition"],
)
READY = Gauge(
    "wiredesk_ready", "1 when the service's /readyz would answer 200, evaluated at each scrape"
)

_RESERVED = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: machine-parseable, with ``extra=`` fields kept as keys."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                doc[key] = value
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(doc, default=str).decode()


def configure_logging(*, level: str = "INFO", fmt: str = "json", service: str = "") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    if service:
        handler.addFilter(_ServiceFilter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


class _ServiceFilter(logging.Filter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        return True


ReadinessCheck = Callable[[], Awaitable[bool]]


async def serve_health(
    port: int,
    ready: ReadinessCheck,
    *,
    host: str = "127.0.0.1",
) -> asyncio.Server:
    """A minimal HTTP endpoint: ``/healthz`` (process alive), ``/readyz``, ``/metrics``.

    Binds ``host`` (``WIREDESK_METRICS_HOST``, by default the API's host setting, itself
    loopback unless told otherwise); only those three paths answer, any other is a 404 (the
    query string is ignored).

    Hand-rolled on asyncio streams because a full web framework per worker would double its
    start-up time and memory for three fixed GET routes.
    """

    async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = await asyncio.wait_for(reader.readline(), timeout=5)
            while (await asyncio.wait_for(reader.readline(), timeout=5)) not in (b"\r\n", b""):
                pass
            parts = request_line.decode("latin-1").split()
            path = (parts[1] if len(parts) > 1 else "/").partition("?")[0]
            if path == "/metrics":
                READY.set(1 if await ready() else 0)
                status, body, ctype = 200, generate_latest(), CONTENT_TYPE_LATEST
            elif path == "/healthz":
                status, body, ctype = 200, b'{"status":"ok"}', "application/json"
            elif path == "/readyz":
                ok = await ready()
                status = 200 if ok else 503
                body = orjson.dumps({"status": "ready" if ok else "not-ready"})
                ctype = "application/json"
            else:
                status, body, ctype = 404, b'{"status":"not-found"}', "application/json"
            reason = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}[status]
            head = (
                f"HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode() + body)
            await writer.drain()
        except (TimeoutError, ConnectionError, ValueError):  # ValueError: line past the limit
            pass
        finally:
            writer.close()

    return await asyncio.start_server(on_client, host, port)


class Stopwatch:
    """Monotonic elapsed time, for metrics and progress."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

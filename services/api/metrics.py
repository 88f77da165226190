"""The read API's ``/metrics``: request counts and latencies per route, and readiness.

The stages serve their metrics from :func:`wiredesk.observability.serve_health` on
``WIREDESK_METRICS_PORT``; the API already is an HTTP server, so it serves ``/metrics`` on its
own port (8080 in compose), beside ``/healthz`` and ``/readyz``. A pure ASGI middleware rather
than Starlette's ``BaseHTTPMiddleware``, which would buffer streamed responses.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import FastAPI
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

from wiredesk.observability import READY

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

REQUESTS = Counter(
    "wiredesk_api_requests_total",
    "HTTP requests answered by the read API",
    ["method", "route", "status"],
)
REQUEST_SECONDS = Histogram(
    "wiredesk_api_request_seconds",
    "Time to answer one read API request (until the response starts)",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)


class _Instrument:
    """Counts every HTTP request by its route template (``/stories/{story_id}``, never the id:
    one series per route, not per story) and status."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}

        async def on_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = int(message["status"])
                REQUEST_SECONDS.labels(_route(scope)).observe(time.perf_counter() - started)
            await send(message)

        try:
            await self.app(scope, receive, on_send)
        finally:
            REQUESTS.labels(scope.get("method", ""), _route(scope), str(status["code"])).inc()


_CONVERTER = re.compile(r"\{(\w+):\w+\}")


def _route(scope: Scope) -> str:
    """The route's template without path converters (``/stories/{story_id:path}`` is labelled
    ``/stories/{story_id}``: the label names the route, not how Starlette matches it)."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return _CONVERTER.sub(r"{\1}", str(path)) if path else "unmatched"


def instrument(app: FastAPI, ready: Callable[[], bool]) -> None:
    """Add ``GET /metrics`` and the request metrics to the API; ``ready`` is what ``/readyz``
    checks, evaluated at each scrape into ``wiredesk_ready``."""

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        try:
            READY.set(1 if ready() else 0)
        except Exception:
            READY.set(0)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    app.add_middleware(_Instrument)

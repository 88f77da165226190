"""What the read API refuses before a handler sees it, and how it quotes what it refused.

- :class:`RequestLineLimit`: a request whose path and query string exceed ``max_bytes`` gets
  ``414 URI Too Long`` with a JSON error. uvicorn's h11 parser closes the connection (the
  client sees a reset) on a request head past ``h11_max_incomplete_event_size``, so
  :func:`services.api.server.serve` raises that limit (``REQUEST_HEAD_LIMIT``) above any URL
  worth answering and this middleware gives the clear answer in between.
- :func:`quoted`: an identifier echoed in an error, cut to a readable length (a 100 KB unknown id
  used to come back whole in the 404).
- :func:`check_time`: a ``since``/``until`` bound the database can compare with (years in
  ``wiredesk.limits``' range), a 422 otherwise instead of an ``OverflowError`` and a 500.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from datetime import datetime
from typing import Any

import orjson
from fastapi import HTTPException

from wiredesk.limits import MAX_YEAR, MIN_YEAR

MAX_REQUEST_TARGET_BYTES = 8192
REQUEST_HEAD_LIMIT = 2 * 1024 * 1024
MAX_OFFSET = 10**12
MAX_MIN_SIZE = 10**9
QUOTE_CHARS = 80

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class RequestLineLimit:
    """ASGI middleware: 414 with a JSON body when the request target is too long."""

    def __init__(self, app: ASGIApp, *, max_bytes: int = MAX_REQUEST_TARGET_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            size = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"")
            if size > self.max_bytes:
                body = orjson.dumps(
                    {"detail": f"request target of {size} bytes > limit of {self.max_bytes}"}
                )
                await send(
                    {
                        "type": "http.response.start",
                        "status": 414,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def quoted(identifier: str) -> str:
    """``repr`` of an identifier, cut to ``QUOTE_CHARS`` characters for an error message."""
    if len(identifier) <= QUOTE_CHARS:
        return repr(identifier)
    return f"{identifier[:QUOTE_CHARS]!r}... ({len(identifier)} chars)"


def check_time(name: str, value: datetime | None) -> datetime | None:
    if value is not None and not MIN_YEAR <= value.year <= MAX_YEAR:
        raise HTTPException(422, f"{name}: year {value.year} is outside {MIN_YEAR}..{MAX_YEAR}")
    return value

"""A real HTTP server on loopback for feed tests: serves files, answers conditional GETs with
304, and can be told to fail (status), stall (delay) or change a document between polls."""

from __future__ import annotations

import email.utils
import hashlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    body: bytes
    content_type: str = "application/rss+xml"
    status: int = 200
    delay_s: float = 0.0
    conditional: bool = True
    """Answer If-None-Match / If-Modified-Since with 304 when the body is unchanged."""
    modified: float = field(default_factory=time.time)

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'


@dataclass
class FeedServer:
    routes: dict[str, Route] = field(default_factory=dict)
    hits: list[tuple[str, int]] = field(default_factory=list)
    port: int = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def statuses(self, path: str) -> list[int]:
        return [status for p, status in self.hits if p == path]


def _handler(server: FeedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            del format, args

        def do_GET(self) -> None:
            route = server.routes.get(self.path)
            if route is None:
                self._answer(404, b"not found", "text/plain", {})
                return
            if route.delay_s:
                time.sleep(route.delay_s)
            if route.status != 200:
                self._answer(route.status, b"server error", "text/plain", {})
                return
            headers = {
                "ETag": route.etag,
                "Last-Modified": email.utils.formatdate(route.modified, usegmt=True),
            }
            if route.conditional and self.headers.get("If-None-Match") == route.etag:
                self._answer(304, b"", route.content_type, headers)
                return
            self._answer(200, route.body, route.content_type, headers)

        def _answer(self, status: int, body: bytes, ctype: str, headers: dict[str, str]) -> None:
            server.hits.append((self.path, status))
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            if status != 304:
                self.wfile.write(body)

    return Handler


@contextmanager
def feed_server() -> Iterator[FeedServer]:
    state = FeedServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = True
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)

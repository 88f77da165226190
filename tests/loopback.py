"""ASGI apps under a real uvicorn server on loopback, as the services run them.

``free_port`` is the project's own (:func:`wiredesk.embedded.free_port`), re-exported here."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn

from wiredesk.embedded import free_port

__all__ = ["free_port", "healthy", "serve_in_thread"]


def _plain_config(app: Any, *, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False)


@contextmanager
def serve_in_thread(
    app: Any,
    *,
    config: Callable[..., uvicorn.Config] = _plain_config,
    start_timeout_s: float = 20.0,
) -> Iterator[str]:
    """Run ``app`` under uvicorn in its own thread and event loop; yields its base URL.

    ``config(app, host=, port=)`` builds the server's settings: pass the service's own (e.g.
    ``services.api.server.uvicorn_config``) to test it as it runs."""
    port = free_port()
    server = uvicorn.Server(config(app, host="127.0.0.1", port=port))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    waited = 0.0
    while not server.started and waited < start_timeout_s and thread.is_alive():
        threading.Event().wait(0.05)
        waited += 0.05
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


async def healthy(http: httpx.AsyncClient, path: str = "/healthz") -> bool:
    """True once the server behind ``http`` answers 200 at ``path``."""
    try:
        return (await http.get(path)).status_code == 200
    except httpx.TransportError:
        return False

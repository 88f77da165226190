"""ASGI apps under a real uvicorn server on loopback, as the services run them."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve_in_thread(app: Any, *, start_timeout_s: float = 20.0) -> Iterator[str]:
    """Run ``app`` under uvicorn in its own thread and event loop; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    )
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

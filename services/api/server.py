"""``wiredesk run api``: the read API under uvicorn, until SIGTERM/SIGINT (then exit 0)."""

from __future__ import annotations

import logging
from types import FrameType

import uvicorn
from fastapi import FastAPI

from services.api.app import create_app
from services.api.guards import REQUEST_HEAD_LIMIT
from services.api.settings import ApiSettings
from services.store.db import open_store
from wiredesk.observability import configure_logging


class _Server(uvicorn.Server):
    """uvicorn re-raises SIGTERM after a graceful shutdown (exit -15); like every wiredesk
    service, a SIGTERM that shut down cleanly exits 0, so supervisors see a clean stop."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        self._captured_signals.clear()


def uvicorn_config(app: FastAPI, *, host: str, port: int) -> uvicorn.Config:
    """How the API runs under uvicorn (the service and the tests use the same)."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,  # keep wiredesk's structured logging
        access_log=False,
        # Long request heads reach RequestLineLimit (a 414) instead of a reset connection.
        h11_max_incomplete_event_size=REQUEST_HEAD_LIMIT,
    )


def serve(settings: ApiSettings | None = None) -> None:
    settings = settings or ApiSettings()
    configure_logging(level=settings.log_level, fmt=settings.log_format, service="api")
    store = open_store(settings.database_url)
    try:
        app = create_app(store, max_page=settings.api_max_page)
        logging.getLogger(__name__).info(
            "api listening",
            extra={"host": settings.api_host, "port": settings.api_port, "backend": store.dialect},
        )
        _Server(uvicorn_config(app, host=settings.api_host, port=settings.api_port)).run()
    finally:
        store.close()

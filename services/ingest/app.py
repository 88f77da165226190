"""The ingest service's FastStream application: ``wiredesk run ingest``."""

from __future__ import annotations

from faststream import FastStream

from services.ingest.handlers import IngestStage
from services.ingest.settings import IngestSettings
from wiredesk.service import build_app


def create_app(settings: IngestSettings | None = None) -> FastStream:
    settings = settings or IngestSettings()
    return build_app(IngestStage(settings), settings)

"""The dedupe service's FastStream application: ``wiredesk run dedupe``."""

from __future__ import annotations

from faststream import FastStream

from services.dedupe.handlers import DedupeStage
from services.dedupe.settings import DedupeSettings
from wiredesk.service import build_app


def create_app(settings: DedupeSettings | None = None) -> FastStream:
    settings = settings or DedupeSettings()
    return build_app(DedupeStage(settings), settings)

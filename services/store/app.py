"""The store service's FastStream application: ``wiredesk run store``."""

from __future__ import annotations

from faststream import FastStream

from services.store.handlers import StoreStage
from services.store.settings import StoreSettings
from wiredesk.service import build_app


def create_app(settings: StoreSettings | None = None) -> FastStream:
    settings = settings or StoreSettings()
    return build_app(StoreStage(settings), settings)

"""The store service's FastStream application: ``wiredesk run store``."""

from __future__ import annotations

from faststream import FastStream

from services.store.settings import StoreSettings
from services.store.stage import StoreStage
from wiredesk.keys import Keys
from wiredesk.partitioned import create_stage_app


def _partitions(settings: StoreSettings, keys: Keys, parts: list[int]) -> list[StoreStage]:
    """One stage per partition, sharing the first one's database connection."""
    first = StoreStage(settings, partition=parts[0], keys=keys)
    rest = [StoreStage(settings, partition=p, keys=keys, shared=first) for p in parts[1:]]
    return [first, *rest]


def create_app(settings: StoreSettings | None = None) -> FastStream:
    s = settings or StoreSettings()
    return create_stage_app(
        s, lambda: StoreStage(s), lambda keys, parts: _partitions(s, keys, parts)
    )

"""The dedupe service's FastStream application: ``wiredesk run dedupe``."""

from __future__ import annotations

from faststream import FastStream

from services.dedupe.handlers import DedupeStage
from services.dedupe.partitioned import PartitionedDedupe
from services.dedupe.settings import DedupeSettings
from wiredesk.partitioned import create_stage_app


def create_app(settings: DedupeSettings | None = None) -> FastStream:
    s = settings or DedupeSettings()
    return create_stage_app(
        s,
        lambda: DedupeStage(s),
        lambda keys, parts: PartitionedDedupe(DedupeStage(s, keys=keys), keys).views(parts),
    )

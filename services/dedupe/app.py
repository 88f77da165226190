"""The dedupe service's FastStream application: ``wiredesk run dedupe``."""

from __future__ import annotations

from faststream import FastStream

from services.dedupe.model_package import model_dir
from services.dedupe.partitioned import PartitionedDedupe
from services.dedupe.settings import DedupeSettings
from services.dedupe.stage import DedupeStage
from wiredesk.partitioned import create_stage_app


def create_app(settings: DedupeSettings | None = None) -> FastStream:
    s = settings or DedupeSettings()
    if s.semantic:
        model_dir()  # a missing model fails here, in one line, before Redis is even asked
    return create_stage_app(
        s,
        lambda: DedupeStage(s),
        lambda keys, parts: PartitionedDedupe(DedupeStage(s, keys=keys), keys).views(parts),
    )

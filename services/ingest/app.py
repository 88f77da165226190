"""The ingest service's FastStream application: ``wiredesk run ingest``."""

from __future__ import annotations

from faststream import FastStream

from services.ingest.settings import IngestSettings
from services.ingest.stage import IngestStage
from wiredesk.partitioned import create_stage_app


def create_app(settings: IngestSettings | None = None) -> FastStream:
    s = settings or IngestSettings()
    return create_stage_app(
        s,
        lambda: IngestStage(s),
        lambda keys, parts: [IngestStage(s, partition=p, keys=keys) for p in parts],
    )

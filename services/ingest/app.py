"""The ingest service's FastStream application: ``wiredesk run ingest``.

Raw articles in (``articles:raw``, or one stream per partition), normalized articles out: the
subscriber hands each delivered batch to the runner of its partition's :class:`IngestStage`,
which decodes, normalizes, holds embargoed items and commits (docs/design.md).
"""

from __future__ import annotations

from faststream import Context, FastStream
from faststream.redis.message import RedisBatchStreamMessage

from services.ingest.settings import IngestSettings
from services.ingest.stage import IngestStage
from wiredesk.host import StageHost, batch_entries
from wiredesk.service import StageRunner


def create_app(settings: IngestSettings | None = None) -> FastStream:
    s = settings or IngestSettings()
    host = StageHost(s, service="ingest")
    if host.partitioned:
        stages = [IngestStage(s, partition=p, keys=host.keys) for p in host.partitions]
    else:
        stages = [IngestStage(s)]
    for stage in stages:
        _subscribe(host, host.runner(stage))
    return host.app()


def _subscribe(host: StageHost, runner: StageRunner) -> None:
    @host.broker.subscriber(**host.subscription(runner.stage))  # type: ignore[untyped-decorator]
    async def on_raw_batch(message: RedisBatchStreamMessage = Context("message")) -> None:
        await runner.process(batch_entries(message))

"""The dedupe service's FastStream application: ``wiredesk run dedupe``.

Normalized articles in (``articles:normalized``, or one stream per partition), annotated
articles, the deduplicated stream and story events out: the subscriber hands each delivered batch
to the runner of its :class:`DedupeStage` (one node) or of its partition's view of one shared
:class:`PartitionedDedupe`, which decide against the story index and commit with the log
(docs/design.md).
"""

from __future__ import annotations

from collections.abc import Sequence

from faststream import Context, FastStream
from faststream.redis.message import RedisBatchStreamMessage

from services.dedupe.model_package import model_dir, require_graph
from services.dedupe.partitioned import PartitionedDedupe
from services.dedupe.settings import DedupeSettings
from services.dedupe.stage import DedupeStage
from wiredesk.host import StageHost, batch_entries
from wiredesk.service import Stage, StageRunner


def create_app(settings: DedupeSettings | None = None) -> FastStream:
    s = settings or DedupeSettings()
    if s.semantic:
        model_dir()  # a missing model fails here, in one line, before Redis is even asked
        if s.embed_backend == "onnx":
            require_graph(s.model_graph)  # so does a missing graph where onnx cannot build it
    host = StageHost(s, service="dedupe")
    stages: Sequence[Stage]
    if host.partitioned:
        stages = PartitionedDedupe(DedupeStage(s, keys=host.keys), host.keys).views(host.partitions)
    else:
        stages = [DedupeStage(s)]
    for stage in stages:
        _subscribe(host, host.runner(stage))
    return host.app()


def _subscribe(host: StageHost, runner: StageRunner) -> None:
    @host.broker.subscriber(**host.subscription(runner.stage))  # type: ignore[untyped-decorator]
    async def on_normalized_batch(message: RedisBatchStreamMessage = Context("message")) -> None:
        await runner.process(batch_entries(message))

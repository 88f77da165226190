"""The store service's FastStream application: ``wiredesk run store``.

Annotated articles in (``articles:annotated``, or one stream per partition), rows out: the
subscriber hands each delivered batch to its partition's :class:`StoreStage`, which writes the
articles, versions and stories in one transaction and acks after it commits (docs/design.md).
"""

from __future__ import annotations

from faststream import Context, FastStream
from faststream.redis.message import RedisBatchStreamMessage

from services.store.settings import StoreSettings
from services.store.stage import StoreStage
from wiredesk.host import StageHost, batch_entries
from wiredesk.service import StageRunner


def create_app(settings: StoreSettings | None = None) -> FastStream:
    s = settings or StoreSettings()
    host = StageHost(s, service="store")
    if host.partitioned:  # one stage per partition, sharing the first one's database connection
        first, *rest = host.partitions
        head = StoreStage(s, partition=first, keys=host.keys)
        shared = [StoreStage(s, partition=p, keys=host.keys, shared=head) for p in rest]
        stages = [head, *shared]
    else:
        stages = [StoreStage(s)]
    for stage in stages:
        _subscribe(host, host.runner(stage))
    return host.app()


def _subscribe(host: StageHost, runner: StageRunner) -> None:
    @host.broker.subscriber(**host.subscription(runner.stage))  # type: ignore[untyped-decorator]
    async def on_annotated_batch(message: RedisBatchStreamMessage = Context("message")) -> None:
        await runner.process(batch_entries(message))

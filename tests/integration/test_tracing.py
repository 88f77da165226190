"""One trace per article from the replayer to the store, through the stream entries' own
``traceparent`` field (wiredesk.tracing), recorded with the SDK's in-memory exporter.

The stages run in this process on the suite's real Redis (each through its StageRunner, the
same path the services take), so one exporter sees every span.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from redis.asyncio import Redis

from services.dedupe.settings import DedupeSettings
from services.dedupe.stage import DedupeStage
from services.ingest.settings import IngestSettings
from services.ingest.stage import IngestStage
from services.store.settings import StoreSettings
from services.store.stage import StoreStage
from tests.conftest import SEEDS
from wiredesk import tracing
from wiredesk.app.files import read_articles
from wiredesk.replay import publish
from wiredesk.service import Stage, StageRunner
from wiredesk.settings import WiredeskSettings
from wiredesk.streaming import read_new

pytestmark = pytest.mark.integration


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    memory = InMemorySpanExporter()
    tracing.configure("test", exporter=memory)
    yield memory
    tracing.shutdown()


async def drain(runner: StageRunner, settings: WiredeskSettings) -> None:
    await runner.start()
    try:
        while entries := await read_new(
            runner.redis,
            stream=runner.stage.input_stream,
            group=runner.stage.group,
            consumer=settings.consumer,
            count=50,
        ):
            await runner.process(entries)
    finally:
        await runner.stop()


async def run_pipeline(settings: WiredeskSettings, tmp_path: Path, aredis: Redis) -> None:
    common = settings.model_dump(exclude={"consumer"}) | {"consumer": "trace-test"}
    stages: list[tuple[Stage, WiredeskSettings]] = []
    ingest = IngestSettings(**common)
    stages.append((IngestStage(ingest), ingest))
    dedupe = DedupeSettings(**common, semantic=False)
    stages.append((DedupeStage(dedupe), dedupe))
    store = StoreSettings(**common, database_url=f"sqlite:///{tmp_path / 'store.db'}")
    stages.append((StoreStage(store), store))
    articles = list(read_articles([SEEDS], source="seeds"))
    assert await publish(aredis, settings.streams.raw, articles) == len(articles)
    for stage, stage_settings in stages:
        await drain(StageRunner(stage, stage_settings), stage_settings)


def by_name(spans: tuple[ReadableSpan, ...], name: str) -> list[ReadableSpan]:
    return [span for span in spans if span.name == name]


async def test_one_trace_links_replay_ingest_dedupe_and_store_for_each_article(
    settings: WiredeskSettings, tmp_path: Path, aredis: Redis, exporter: InMemorySpanExporter
) -> None:
    await run_pipeline(settings, tmp_path, aredis)
    spans = exporter.get_finished_spans()
    roots = by_name(spans, "replay publish")
    assert len(roots) == len(list(SEEDS.glob("*.txt"))) == 5
    for root in roots:
        trace_id = root.context.trace_id
        assert root.parent is None
        chain = [root]
        for stage in ("ingest", "dedupe", "store"):
            (child,) = [
                s for s in by_name(spans, f"{stage} process") if s.context.trace_id == trace_id
            ]
            assert child.parent is not None
            assert child.parent.span_id == chain[-1].context.span_id, stage
            assert child.resource.attributes["service.namespace"] == "wiredesk"
            chain.append(child)
        assert chain[1].attributes["messaging.destination.name"] == settings.streams.raw
        assert chain[3].attributes["messaging.destination.name"] == settings.streams.annotated
    # each output entry carries its trace: the story's unique entry continues one of them
    unique = await aredis.xrange(settings.streams.unique)
    assert unique
    traceparent = unique[0][1][tracing.TRACEPARENT].decode()
    dedupe_ids = {f"{s.context.span_id:016x}" for s in by_name(spans, "dedupe process")}
    assert traceparent.split("-")[2] in dedupe_ids


async def test_tracing_is_off_by_default_and_entries_then_carry_no_traceparent(
    settings: WiredeskSettings, tmp_path: Path, aredis: Redis
) -> None:
    tracing.shutdown()  # forget any configuration: read the (default) environment again
    try:
        assert tracing.tracer("test") is None
        await run_pipeline(settings, tmp_path, aredis)
        for stream in (settings.streams.raw, settings.streams.normalized, settings.streams.unique):
            entries = await aredis.xrange(stream)
            assert entries and all(tracing.TRACEPARENT not in f for _, f in entries), stream
    finally:
        tracing.shutdown()

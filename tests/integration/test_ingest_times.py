"""A producer's zoneless times, through the real ingest stage, come out valid against the
published JSON Schema (a strict RFC 3339 ``date-time`` check, as Ajv with ajv-formats does)."""

from __future__ import annotations

import orjson
import pytest
from redis.asyncio import Redis

from services.ingest.settings import IngestSettings
from services.ingest.stage import IngestStage
from tests.unit.test_wire_contract import errors
from wiredesk.service import StageRunner
from wiredesk.settings import WiredeskSettings
from wiredesk.streaming import read_new

pytestmark = pytest.mark.integration

BODY = (
    "The harbour authority said on Monday that the new container terminal would open in "
    "March, two months later than planned, after storms delayed work on the breakwater."
)


@pytest.mark.parametrize("schema", ["raw.v1", "raw.v2"])
async def test_zoneless_received_at_and_published_at_come_out_zoned_and_valid(
    settings: WiredeskSettings, aredis: Redis, schema: str
) -> None:
    s = IngestSettings(**settings.model_dump())
    document = {
        "schema": schema,
        "id": f"naive-{schema}",
        "source": "producer",
        "url": "https://example.com/harbour",
        "received_at": "2024-05-01T10:00:00",
        "content_type": "text/html",
        "body": (
            '<html><head><meta property="article:published_time" content="2024-05-01T08:15:00">'
            f"<title>Terminal delayed</title></head><body><article><p>{BODY}</p>"
            "</article></body></html>"
        ),
    }
    if schema == "raw.v2":
        document |= {"version_created": "2024-05-01T09:00:00", "format": "html"}
    raw_json = orjson.dumps(document)
    await aredis.xadd(s.streams.raw, {"schema": schema, "data": raw_json})
    runner = StageRunner(IngestStage(s), s)
    await runner.start()
    try:
        entries = await read_new(
            runner.redis, stream=s.streams.raw, group=s.groups.ingest, consumer="t", count=10
        )
        await runner.process(entries)
    finally:
        await runner.stop()
    assert await aredis.xlen(s.streams.dlq) == 0
    ((_, fields),) = await aredis.xrange(s.streams.normalized)
    out = orjson.loads(fields[b"data"])
    expected = "article.v1" if schema == "raw.v1" else "article.v2"
    assert out["schema"] == expected
    assert out["received_at"] == "2024-05-01T10:00:00Z"
    assert out["published_at"] is not None and out["published_at"].startswith("2024-05-01T08:15")
    assert not errors(expected, out), out

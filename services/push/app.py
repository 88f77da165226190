"""``POST /v1/items``: producers push documents; 202 once they are durably in articles:raw.

A request carries one document in any format ``wiredesk replay`` reads (ninjs, NewsML-G2,
RSS/Atom/JSON Feed, raw.v1/raw.v2 JSON, HTML, plain text with ``Content-Type: text/plain``),
authenticated by the producer's API key (``Authorization: Bearer KEY`` or ``X-API-Key``).
The items go through the same format adapters as replay, are XADDed to ``articles:raw`` in
one pipeline, and the answer is sent only after Redis has acknowledged every XADD:

- ``202`` ``{"items": [{"id", "entry", "guid", "version"}], "rejected": [...]}`` (some
  items of a feed may be rejected, e.g. a photo; they are dead-lettered and listed);
- ``400`` broken JSONL; ``401`` no or wrong key; ``413`` body over ``WIREDESK_PUSH_MAX_BYTES``;
  ``415`` a document in no known format; ``422`` nothing in it can become an article (invalid
  ninjs with the validator's message, a schema violation, only photos); ``503`` Redis is down.

The authenticated producer is the items' ``source``: a producer cannot publish as another.

On a partitioned layout (``WIREDESK_PARTITIONS`` > 1 or a Redis Cluster) each item goes to its
article id's partition (:func:`wiredesk.partitions.partition_for`, the rule every producer
shares), and with ``WIREDESK_WAIT_REPLICAS`` the 202 waits for the replicas too.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import FastAPI, Header, HTTPException, Request
from fastapi.responses import JSONResponse
from redis.asyncio import Redis
from redis.exceptions import RedisError

from services.ingest.formats import DocumentError, Rejected, parse_document
from services.push.settings import PushSettings
from wiredesk.cluster import ReplicationShort
from wiredesk.messages import RawArticle, encode_entry
from wiredesk.partitions import partition_for
from wiredesk.replay import dead_letter
from wiredesk.streaming import text_of
from wiredesk.topology import Topology

__all__ = ["create_app"]

_SUFFIX_OF_TYPE = {
    "text/plain": "push.txt",
    "text/html": "push.html",
    "application/x-ndjson": "push.jsonl",
}


def _producer(settings: PushSettings, authorization: str | None, api_key: str | None) -> str:
    offered = api_key
    if offered is None and authorization and authorization.lower().startswith("bearer "):
        offered = authorization[7:].strip()
    if not offered:
        raise HTTPException(
            401,
            "an API key is required: 'Authorization: Bearer KEY' or 'X-API-Key: KEY'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    found = None
    for producer, key in settings.push_keys.items():  # compare with every key: constant time
        if hmac.compare_digest(offered.encode(), key.get_secret_value().encode()):
            found = producer
    if found is None:
        raise HTTPException(401, "unknown API key", headers={"WWW-Authenticate": "Bearer"})
    return found


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"body of {declared} bytes > limit of {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"body over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _rejection(item: Rejected) -> dict[str, str]:
    return {"reason": item.reason, "error": item.error, "locator": item.locator}


def create_app(settings: PushSettings, redis: Redis | None = None) -> FastAPI:
    """The endpoint on ``redis`` (the single-stream layout of ``settings``), or, without it,
    on the deployment :meth:`Topology.connect` finds at start-up (cluster mode, partitions,
    WAIT), connected inside the server's own event loop."""
    target = None if redis is None else Topology.single_node(settings, redis)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        nonlocal target
        connected = None
        if target is None:
            target = connected = await Topology.connect(settings)
        try:
            yield
        finally:
            if connected is not None:
                await connected.aclose()

    app = FastAPI(
        title="wiredesk push endpoint",
        version="1",
        description="Producers push wire documents into articles:raw.",
        lifespan=lifespan,
    )

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/v1/items", status_code=202, tags=["ingest"])
    async def push(
        request: Request,
        authorization: Annotated[str | None, Header()] = None,
        x_api_key: Annotated[str | None, Header()] = None,
    ) -> Any:
        producer = _producer(settings, authorization, x_api_key)
        data = await _body(request, settings.push_max_bytes)
        if not data.strip():
            raise HTTPException(400, "empty body: send one document")
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        locator = f"push:{producer}:{hashlib.sha256(data).hexdigest()[:16]}"
        try:
            items = parse_document(
                data, source=producer, locator=locator, name=_SUFFIX_OF_TYPE.get(ctype, "")
            )
        except DocumentError as exc:
            unknown = "not a format wiredesk reads" in str(exc)
            raise HTTPException(415 if unknown else 400, str(exc).replace(locator, "body")) from exc
        articles: list[RawArticle] = [
            item.model_copy(update={"source": producer})
            for item in items
            if not isinstance(item, Rejected)
        ]
        rejected = [item for item in items if isinstance(item, Rejected)]
        if not articles:
            return JSONResponse(
                status_code=422,
                content={
                    "detail": "nothing in the document can become an article",
                    "rejected": [_rejection(r) for r in rejected],
                },
            )
        assert target is not None  # set before the first request (lifespan)
        keys, n = target.keys, target.keys.partitions
        routed = [(keys.raw(partition_for(a.id, n)), a) for a in articles]
        dead = [(keys.dlq(partition_for(r.locator, n)), r) for r in rejected]
        try:
            async with target.client.pipeline(transaction=False) as pipe:
                for stream, article in routed:
                    pipe.xadd(stream, encode_entry(article))  # type: ignore[arg-type]
                for stream, item in dead:
                    pipe.xadd(stream, encode_entry(dead_letter(item, stage="push")))  # type: ignore[arg-type]
                entries = await pipe.execute()
            await target.confirm({stream for stream, _ in routed + dead})
        except (RedisError, ReplicationShort) as exc:
            raise HTTPException(503, f"articles:raw is unavailable, retry later: {exc}") from exc
        return {
            "items": [
                {
                    "id": article.id,
                    "entry": text_of(entry),
                    "guid": getattr(article, "guid", None),
                    "version": getattr(article, "version", None),
                }
                for article, entry in zip(articles, entries, strict=False)
            ],
            "rejected": [_rejection(r) for r in rejected],
        }

    return app

"""``POST /v1/items`` on a real uvicorn server on loopback, writing to a real Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import httpx
import orjson
import pytest
from redis.asyncio import Redis

from services.push.app import create_app
from services.push.settings import PushSettings
from tests.conftest import ROOT
from tests.loopback import serve_in_thread
from wiredesk.messages import RawArticle, RawArticleV2, decode_entry
from wiredesk.settings import WiredeskSettings

pytestmark = pytest.mark.integration

FORMATS = ROOT / "tests" / "fixtures" / "formats"
KEY = "k-agency-test-0123456789"


@pytest.fixture
def push_settings(settings: WiredeskSettings) -> PushSettings:
    return PushSettings(
        redis_url=settings.redis_url,
        key_prefix=settings.key_prefix,
        streams=settings.streams,
        push_keys={"agency": KEY, "other": "k-other-0123456789"},
        push_max_bytes=200_000,
    )


@pytest.fixture
def base_url(push_settings: PushSettings) -> Iterator[str]:
    """The app under uvicorn in its own thread and event loop, as ``wiredesk run push`` runs."""
    with serve_in_thread(create_app(push_settings, Redis.from_url(push_settings.redis_url))) as url:
        yield url


@pytest.fixture
async def client(base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        yield http


def auth(key: str = KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def raw_entries(aredis: Redis, settings: WiredeskSettings) -> dict[str, RawArticle]:
    return {
        entry_id.decode(): decode_entry(fields, RawArticle, max_bytes=10**8)
        for entry_id, fields in await aredis.xrange(settings.streams.raw)
    }


async def test_a_ninjs_item_is_accepted_once_it_is_in_the_raw_stream(
    client: httpx.AsyncClient, aredis: Redis, push_settings: PushSettings
) -> None:
    body = (FORMATS / "ninjs/3.0/dpa_text.json").read_bytes()
    response = await client.post("/v1/items", content=body, headers=auth())
    assert response.status_code == 202, response.text
    (item,) = response.json()["items"]
    assert item["guid"] == "urn:newsml:dpa.com:20090101:190510-99-167362"
    assert item["version"] == "2"
    stored = await raw_entries(aredis, push_settings)
    assert set(stored) == {item["entry"]}
    raw = stored[item["entry"]]
    assert isinstance(raw, RawArticleV2)
    assert raw.id == item["id"]
    assert raw.source == "agency"  # the authenticated producer, whatever the document says


async def test_a_feed_yields_one_item_per_entry_and_x_api_key_works(
    client: httpx.AsyncClient, aredis: Redis, push_settings: PushSettings
) -> None:
    body = (FORMATS / "feeds/wire-rss2.xml").read_bytes()
    response = await client.post(
        "/v1/items", content=body, headers={"X-API-Key": "k-other-0123456789"}
    )
    assert response.status_code == 202, response.text
    assert len(response.json()["items"]) == 2
    assert await aredis.xlen(push_settings.streams.raw) == 2


async def test_raw_v2_json_is_accepted(
    client: httpx.AsyncClient, aredis: Redis, push_settings: PushSettings
) -> None:
    doc = {
        "schema": "raw.v2",
        "id": "p-1",
        "source": "spoofed",
        "url": "https://agency.example/1",
        "headline": "Rain",
        "body": "It rained all day in the capital, and the rivers rose by a metre.",
        "guid": "urn:agency:1",
        "version": "3",
        "pub_status": "withheld",
        "language": "en",
    }
    response = await client.post("/v1/items", content=orjson.dumps(doc), headers=auth())
    assert response.status_code == 202, response.text
    (raw,) = (await raw_entries(aredis, push_settings)).values()
    assert isinstance(raw, RawArticleV2)
    assert (raw.guid, raw.version, raw.pub_status, raw.source) == (
        "urn:agency:1",
        "3",
        "withheld",
        "agency",
    )


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 401), (auth("wrong-key-000000"), 401), ({"Authorization": "Basic eDp5"}, 401)],
)
async def test_requests_without_a_valid_key_are_refused(
    client: httpx.AsyncClient,
    aredis: Redis,
    push_settings: PushSettings,
    headers: dict[str, str],
    status: int,
) -> None:
    body = (FORMATS / "ninjs/3.0/dpa_text.json").read_bytes()
    response = await client.post("/v1/items", content=body, headers=headers)
    assert response.status_code == status
    assert "key" in response.json()["detail"].lower()
    assert await aredis.xlen(push_settings.streams.raw) == 0


async def test_bad_documents_get_a_clear_4xx(
    client: httpx.AsyncClient, aredis: Redis, push_settings: PushSettings
) -> None:
    too_big = b"<html><body>" + b"<p>x</p>" * 40_000 + b"</body></html>"
    assert (await client.post("/v1/items", content=too_big, headers=auth())).status_code == 413
    unknown = await client.post("/v1/items", content=b'{"hello": 1}', headers=auth())
    assert unknown.status_code == 415
    assert "not a format" in unknown.json()["detail"]
    doc = orjson.loads((FORMATS / "ninjs/3.0/dpa_text.json").read_bytes())
    doc["pubStatus"] = "maybe"
    invalid = await client.post("/v1/items", content=orjson.dumps(doc), headers=auth())
    assert invalid.status_code == 422
    (rejection,) = invalid.json()["rejected"]
    assert rejection["reason"] == "invalid-ninjs"
    assert "pubStatus" in rejection["error"]
    photo = (FORMATS / "ninjs/3.0/ap_image.json").read_bytes()
    refused = await client.post("/v1/items", content=photo, headers=auth())
    assert refused.status_code == 422
    assert refused.json()["rejected"][0]["reason"] == "not-text"
    assert (await client.post("/v1/items", content=b"  ", headers=auth())).status_code == 400
    assert await aredis.xlen(push_settings.streams.raw) == 0


async def test_plain_text_is_read_by_its_content_type(
    client: httpx.AsyncClient, aredis: Redis, push_settings: PushSettings
) -> None:
    text = "Heavy rain flooded the old town on Tuesday. " * 5
    response = await client.post(
        "/v1/items", content=text.encode(), headers={**auth(), "Content-Type": "text/plain"}
    )
    assert response.status_code == 202, response.text
    await asyncio.sleep(0)
    assert await aredis.xlen(push_settings.streams.raw) == 1

"""One story's lifecycle from real wire samples, and the checks every lifecycle test makes.

The story is the Business Wire item that tests/fixtures/formats ships as ninjs 3.0 and ninjs
1.4, plus a NewsML-G2 item (IPTC's LISTING_2, its NITF body replaced by the same story's
paragraphs): three providers' items, then a new version of the first, then its kill, then a late
copy of its first version (same source, guid and version; another message id, as a relay that
re-sends it would give). Built through the formats' own adapters (services/ingest/formats), so
the items are what ``wiredesk replay`` publishes.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from redis.asyncio import Redis

from services.ingest.formats import articles, parse_document
from services.ingest.normalize import normalize
from wiredesk.messages import RawArticleV2
from wiredesk.settings import Streams
from wiredesk.streaming import parse_entries

FORMATS = Path(__file__).resolve().parent / "fixtures" / "formats"
NINJS_3 = FORMATS / "ninjs" / "3.0" / "businesswire-newsml-20130731006140.json"
NINJS_14 = FORMATS / "ninjs" / "1.4" / "businesswire-newsml-20130731006140.json"
NEWSML = FORMATS / "newsml-g2" / "LISTING_2_NewsML-G2_Text_Document.xml"

STEPS = ("a1", "c1", "b1", "a2", "a3-kill", "a1-late")
"""In publishing order: A (ninjs 3.0), C (ninjs 1.4 via a relay), B (NewsML-G2), A's version
2, A's kill (version 3, canceled), A's version 1 again."""


def _one(data: bytes, *, source: str, locator: str) -> RawArticleV2:
    (item,) = articles(parse_document(data, source=source, locator=locator))
    assert isinstance(item, RawArticleV2), item
    return item


def _ninjs(path: Path, *, source: str, **changes: Any) -> RawArticleV2:
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc.update(changes)
    return _one(json.dumps(doc).encode(), source=source, locator=f"{path.name}#{source}")


def story_items() -> dict[str, RawArticleV2]:
    """The six messages, by step name (``STEPS``)."""
    a1 = _ninjs(NINJS_3, source="businesswire")
    paragraphs = normalize(a1).text.split("\n\n")
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    xml = NEWSML.read_text(encoding="utf-8")
    xml = xml.replace('guid="urn:newsml:acmenews.com:20161121:US-FINANCE-FED"', 'guid="urn:t:b"')
    xml = re.sub(
        r"<body\.content>.*</body\.content>",
        f"<body.content>{body}</body.content>",
        xml,
        flags=re.S,
    )
    b1 = _one(xml.encode(), source="acme", locator="newsml#acme")
    c1 = _ninjs(NINJS_14, source="relay")
    update = (
        "<p>UPDATE 1: Applebee's said on Thursday the decoy stands will tour forty more cities "
        "through the end of the year after strong demand from office workers.</p>"
    )
    doc = json.loads(NINJS_3.read_text(encoding="utf-8"))
    a2 = _ninjs(
        NINJS_3,
        source="businesswire",
        version="2",
        versionCreated="2013-07-31T17:00:00Z",
        bodies=[{**doc["bodies"][0], "value": update + doc["bodies"][0]["value"]}],
    )
    kill = _ninjs(
        NINJS_3,
        source="businesswire",
        version="3",
        versionCreated="2013-07-31T18:00:00Z",
        pubStatus="canceled",
        bodies=[{**doc["bodies"][0], "value": "<p>Kill: this story has been withdrawn.</p>"}],
    )
    late = a1.model_copy(update={"id": f"{a1.id}-relayed"})
    items = {"a1": a1, "c1": c1, "b1": b1, "a2": a2, "a3-kill": kill, "a1-late": late}
    assert list(items) == list(STEPS)
    assert len({i.id for i in items.values()}) == len(items)
    return items


async def entries(redis: Redis, stream: str) -> list[dict[str, Any]]:
    """Every entry's JSON document, in stream order."""
    return [orjson.loads(f[b"data"]) for _, f in parse_entries(await redis.xrange(stream) or [])]


@dataclass(frozen=True)
class StoryRun:
    events: list[dict[str, Any]]
    annotated: list[dict[str, Any]]
    unique: list[dict[str, Any]]


async def read_run(redis: Redis, streams: Streams) -> StoryRun:
    return StoryRun(
        events=await entries(redis, streams.stories),
        annotated=await entries(redis, streams.annotated),
        unique=await entries(redis, streams.unique),
    )


def check_story_run(run: StoryRun, items: dict[str, RawArticleV2]) -> None:
    """The acceptance checks of issue 15 for one replay of ``story_items``."""
    ids = {name: item.id for name, item in items.items()}
    by_id = {doc["id"]: doc for doc in run.annotated}
    assert ids["a1-late"] not in by_id, "the late copy produced output"
    assert set(by_id) == {ids[n] for n in STEPS if n != "a1-late"}, sorted(by_id)
    stories = {doc["story_id"] for doc in run.annotated}
    assert len(stories) == 1, f"not one story: {stories}"
    (story_id,) = stories
    assert [u["story_id"] for u in run.unique] == [story_id], "articles:unique: the story once"
    assert all(e["story_id"] == story_id for e in run.events)
    revisions = [e["revision"] for e in run.events]
    assert revisions == list(range(1, len(revisions) + 1)), revisions
    causes = [e["cause"]["id"] for e in run.events]
    assert causes == [ids[n] for n in STEPS if n != "a1-late"], "one event per change"
    assert run.events[0]["event"] == "created"
    updated = [e for e in run.events if e["cause"]["change"] == "updated"]
    assert [e["cause"]["id"] for e in updated] == [ids["a2"]]
    killed = [e for e in run.events if e["cause"]["change"] == "killed"]
    assert [e["cause"]["id"] for e in killed] == [ids["a3-kill"]]
    last = run.events[-1]
    assert last["event"] == "updated" and last["members"] == 2
    live = {ids["b1"], ids["c1"]}
    assert last["canonical"]["id"] in live, "the final canonical is a live item"
    assert by_id[ids["a2"]]["change"] == "updated"
    assert by_id[ids["a2"]]["supersedes"] == ids["a1"]
    assert by_id[ids["a3-kill"]]["change"] == "killed"
    assert by_id[ids["a3-kill"]]["supersedes"] == ids["a2"]
    assert by_id[ids["a3-kill"]]["canonical_id"] in live
    for doc in run.annotated:  # each annotated entry repeats the event it caused
        (event,) = [e for e in run.events if e["cause"]["id"] == doc["id"]]
        assert (doc["story_event"], doc["story_revision"], doc["story_members"]) == (
            event["event"],
            event["revision"],
            event["members"],
        )

"""Format adapters on the real samples in tests/fixtures/formats (IPTC ninjs and NewsML-G2,
feeds made of their texts): sniffing by content, validation, and the fields each carries."""

from __future__ import annotations

import copy
from pathlib import Path

import orjson
import pytest

from services.ingest.formats import DocumentError, Rejected, parse_document, sniff
from services.ingest.formats.ninjs import detect_version, parse_ninjs
from services.ingest.fragment import fragment_text
from services.ingest.normalize import normalize
from tests.conftest import ROOT
from wiredesk.messages import ArticleV2, RawArticleV2

FORMATS = ROOT / "tests" / "fixtures" / "formats"
NINJS = sorted((FORMATS / "ninjs").glob("*/*.json"))
NEWSML = sorted((FORMATS / "newsml-g2").glob("*.xml"))
FEEDS = sorted((FORMATS / "feeds").glob("*"))


def parse(path: Path) -> list[RawArticleV2 | Rejected]:
    return parse_document(path.read_bytes(), source="test", locator=path.name)  # type: ignore[return-value]


def test_the_fixtures_are_there_with_their_licenses() -> None:
    assert len(NINJS) == 16
    assert len(NEWSML) >= 8
    for folder in ("ninjs", "newsml-g2", "feeds"):
        assert (FORMATS / folder / "LICENSE").is_file()


@pytest.mark.parametrize("path", NINJS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_ninjs_sample_is_sniffed_validated_and_mapped(path: Path) -> None:
    # no file name: the content alone decides
    assert sniff(path.read_bytes()) == "ninjs"
    (item,) = parse(path)
    doc = orjson.loads(path.read_bytes())
    if doc.get("type") == "picture":
        assert isinstance(item, Rejected)
        assert item.reason == "not-text"
        return
    assert isinstance(item, RawArticleV2), item
    assert item.guid == doc["uri"]
    assert item.version == str(doc.get("version", "1"))
    assert item.format == f"ninjs-{path.parent.name}"
    assert item.title
    assert item.body
    assert item.original == path.read_text("utf-8")


def test_versions_are_told_apart_by_their_spelling() -> None:
    by_version = {p.parent.name: orjson.loads(p.read_bytes()) for p in NINJS if "dpa" in p.name}
    assert detect_version(by_version["2.1"]) == "2.1"
    assert detect_version(by_version["3.0"]) == "3.0"
    simple = orjson.loads((FORMATS / "ninjs/1.4/ninjsExSimpleText1.json").read_bytes())
    assert detect_version(simple) == "1.4"


def test_invalid_ninjs_is_rejected_with_the_validators_message() -> None:
    path = FORMATS / "ninjs/3.0/dpa_text.json"
    doc = orjson.loads(path.read_bytes())
    doc["urgency"] = "very"
    (item,) = parse_ninjs(doc, data=b"{}", source="s", locator="x")
    assert isinstance(item, Rejected)
    assert item.reason == "invalid-ninjs"
    assert "urgency" in item.error
    assert "'very' is not of type 'integer'" in item.error


def test_geojson_references_resolve_offline_and_are_checked() -> None:
    """ninjs 2.1+ $ref GeoJSON by URL; the local stand-in answers it (no network here)."""
    doc = orjson.loads((FORMATS / "ninjs/3.0/ntb_text.json").read_bytes())
    good = copy.deepcopy(doc)
    good["places"][0]["geoJSON"] = {"type": "Point", "coordinates": [9.6, 59.2]}
    (item,) = parse_ninjs(good, data=b"{}", source="s", locator="x")
    assert isinstance(item, RawArticleV2)
    bad = copy.deepcopy(doc)
    bad["places"][0]["geoJSON"] = {"type": "Blob"}
    (item,) = parse_ninjs(bad, data=b"{}", source="s", locator="x")
    assert isinstance(item, Rejected)
    assert item.reason == "invalid-ninjs"


def test_newsml_item_carries_guid_version_status_language_subjects() -> None:
    (item,) = parse(FORMATS / "newsml-g2/LISTING_2_NewsML-G2_Text_Document.xml")
    assert isinstance(item, RawArticleV2)
    assert item.guid == "urn:newsml:acmenews.com:20161121:US-FINANCE-FED"
    assert item.version == "11"
    assert item.pub_status == "usable"
    assert item.language == "en-US"
    assert item.title == 'Fed to halt QE to avert "bubble"'
    assert "medtop:04000000" in {s.code for s in item.subjects}
    article = normalize(item)
    assert isinstance(article, ArticleV2)
    assert article.lang == "en"
    assert article.guid == item.guid
    assert "luptat" in article.text


def test_a_news_message_yields_each_of_its_items() -> None:
    items = parse(FORMATS / "newsml-g2/wiredesk_newsMessage_two_items.xml")
    assert [type(i) for i in items] == [RawArticleV2, RawArticleV2]
    first, second = items
    assert isinstance(first, RawArticleV2)
    assert isinstance(second, RawArticleV2)
    assert first.guid != second.guid
    assert second.embargoed is not None
    assert second.located == "Berlin"
    assert "Phillies" in normalize(second).text


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("ap_metadata_example.xml", "not-text"),
        ("LISTING_1_A_NewsML-G2_News_Item.xml", "empty"),
        ("LISTING_29_Hop_History.xml", "empty"),
    ],
)
def test_newsml_items_without_text_are_rejected_with_a_reason(name: str, reason: str) -> None:
    (item,) = parse(FORMATS / "newsml-g2" / name)
    assert isinstance(item, Rejected)
    assert item.reason == reason


@pytest.mark.parametrize(
    ("name", "kind", "count"),
    [
        ("wire-rss2.xml", "rss", 2),
        ("wire-atom.xml", "atom", 1),
        ("wire-jsonfeed.json", "jsonfeed", 2),
    ],
)
def test_feeds_yield_one_item_per_entry_with_its_guid(name: str, kind: str, count: int) -> None:
    path = FORMATS / "feeds" / name
    assert sniff(path.read_bytes()) == ("jsonfeed" if kind == "jsonfeed" else "feed")
    items = parse(path)
    assert len(items) == count
    for item in items:
        assert isinstance(item, RawArticleV2)
        assert item.format == kind
        assert item.guid
        assert item.version_created is not None
        assert normalize(item).word_count > 20


def test_plain_inputs_keep_their_raw_v1_form_and_ids() -> None:
    (text,) = parse_document(b"Hello world.", source="s", locator="a.txt", name="a.txt")
    assert text.SCHEMA == "raw.v1"
    (page,) = parse_document(b"<html><body><p>x</p></body></html>", source="s", locator="a")
    assert page.SCHEMA == "raw.v1"
    assert getattr(page, "content_type", None) == "text/html"


def test_unknown_documents_raise_a_clear_error() -> None:
    with pytest.raises(DocumentError, match="not a format wiredesk reads"):
        parse_document(b'{"hello": "world"}', source="s", locator="x.json")


def test_a_fragment_keeps_one_line_per_block_and_joins_wrapped_lines() -> None:
    text = fragment_text(
        "<div><p>One\n   wrapped line</p><p>Two<br>lines</p><script>x</script></div>"
    )
    assert text == "One wrapped line\nTwo\nlines"

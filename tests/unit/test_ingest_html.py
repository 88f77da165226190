"""HTML pages: main content only, metadata from the page, no markup in the text."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.ingest.html import extract_html
from services.ingest.normalize import normalize
from wiredesk.messages import Article, RawArticle

PAGE = Path(__file__).resolve().parents[1] / "fixtures" / "ingest" / "page.html"


@pytest.fixture(scope="module")
def article() -> Article:
    raw = RawArticle(
        id="page",
        source="harbour-daily",
        url="file:page.html",
        content_type="text/html",
        body=PAGE.read_text("utf-8"),
    )
    return normalize(raw)


def test_story_paragraphs_are_kept(article: Article) -> None:
    paragraphs = article.text.split("\n\n")
    assert [p.split()[0] for p in paragraphs] == ["Dock", "The", "Port", "The"]
    assert paragraphs[-1].startswith("The transport ministry called on both sides")


@pytest.mark.parametrize(
    "chrome",
    [
        "Home",  # navigation
        "Business",
        "cookies",  # cookie banner
        "SECRET_TRACKER",  # <script>
        "INLINE_SCRIPT_TEXT",
        "font-family",  # <style>
        "editor: check",  # HTML comment
        "Share this article",  # share bar inside <article>
        "Advertisement",
        "Related:",
        "newsletter",
        "Most read",  # aside teaser block
        "Celebrity chef",
        "All rights reserved",  # footer
        "Privacy",
        "<",
    ],
)
def test_page_chrome_and_markup_never_reach_the_text(article: Article, chrome: str) -> None:
    assert chrome not in article.text


def test_metadata_comes_from_the_page(article: Article) -> None:
    assert article.title == "Port workers strike over pay"
    assert article.published_at == datetime(2024, 3, 5, 6, 45, tzinfo=UTC)
    assert article.url == "https://harbour-daily.example/news/2024/port-strike"
    assert article.lang == "en"
    assert not article.text.startswith("Port workers strike over pay")


def test_in_article_chrome_is_recorded_by_kind(article: Article) -> None:
    kinds = {s.kind for s in article.stripped}
    assert {"share-bar", "cross-link", "call-to-action", "title"} <= kinds


def test_author_and_canonical_url_are_read() -> None:
    page = extract_html(PAGE.read_text("utf-8"))
    assert page.author == "Maria Keller"
    assert page.url == "https://harbour-daily.example/news/2024/port-strike"


def test_producer_web_url_is_kept_over_canonical() -> None:
    raw = RawArticle(
        id="p",
        source="s",
        url="https://harbour-daily.example/amp/port-strike",
        content_type="text/html",
        body=PAGE.read_text("utf-8"),
    )
    assert normalize(raw).url == "https://harbour-daily.example/amp/port-strike"


def test_page_without_content_is_empty() -> None:
    page = extract_html("<html><head><script>var a = 1;</script></head><body></body></html>")
    assert page.text == ""


def test_a_page_the_fast_pass_finds_nothing_in_is_retried_with_the_slower_passes() -> None:
    from services.ingest.html import EXTRACTORS

    story = "The council voted on Tuesday to close the bridge after floods damaged its piers. " * 3
    page = extract_html(f"<html><body><footer><p>{story}</p></footer></body></html>")
    assert page.extractor in EXTRACTORS[1:]  # not the fast pass: a later one found the text
    assert "council voted" in page.text


def test_an_empty_page_says_which_extractors_gave_up() -> None:
    from services.ingest.normalize import NormalizationError, normalize
    from wiredesk.messages import RawArticle

    raw = RawArticle(
        id="x",
        source="s",
        url="x.html",
        content_type="text/html",
        body="<html><head><script>var a = 1;</script></head><body></body></html>",
    )
    with pytest.raises(NormalizationError) as caught:
        normalize(raw)
    assert caught.value.reason == "empty"
    assert "every HTML extractor gave up" in caught.value.error
    assert "whole-page" in caught.value.error


def test_a_large_page_is_read_the_limit_is_on_the_extracted_text() -> None:
    from services.ingest.normalize import normalize
    from wiredesk.messages import RawArticle

    story = "".join(
        f"<p>The council voted on day {n} to close bridge number {n} after floods damaged it.</p>"
        for n in range(5)
    )
    padding = "<script>" + "x" * 1_500_000 + "</script>"  # a 1.5 MB page, as big outlets serve
    body = f"<html><head>{padding}</head><body><article>{story}</article></body></html>"
    raw = RawArticle(id="x", source="s", url="x.html", content_type="text/html", body=body)
    assert len(body) > 1_500_000
    assert "council voted" in normalize(raw).text

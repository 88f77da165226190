"""normalize(): the contract the handler relies on (errors with reason codes, stripped log)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

from services.ingest.normalize import Limits, NormalizationError, normalize
from services.ingest.text import fingerprint
from wiredesk.messages import RawArticle

STORY = (
    "The central bank raised its main interest rate by half a point on Thursday, its third "
    "increase this year, citing persistent inflation in services and wages.\n\n"
    "Economists polled before the decision had expected a smaller move, and the currency "
    "strengthened by almost one percent against the dollar after the announcement."
)


def raw(body: str, **fields: str) -> RawArticle:
    return RawArticle(id="a1", source="test", url="https://example.com/a1", body=body, **fields)


@pytest.mark.parametrize(
    ("body", "limits", "reason"),
    [
        ("", Limits(), "empty"),
        ("Advertisement\n\n© 2024 Example News. All rights reserved.", Limits(), "empty"),
        ("A short note.", Limits(), "too-short"),
        (STORY * 40, Limits(max_body_chars=2000), "too-large"),
    ],
)
def test_unusable_documents_raise_with_a_reason(body: str, limits: Limits, reason: str) -> None:
    with pytest.raises(NormalizationError) as caught:
        normalize(raw(body), limits)
    assert caught.value.reason == reason


def test_a_page_of_chrome_around_a_story_is_reduced_to_the_story() -> None:
    body = "\n\n".join(
        [
            "Home | World | Business | Markets",
            "Published: March 7, 2024 08:15 GMT",
            "Rates Rise Again as Inflation Persists",
            "By Anna Kowalska",
            "FRANKFURT (Reuters) - " + STORY,
            "Share on Facebook Share on X Share via Email",
            "Sign up for our markets newsletter to get the day's moves in your inbox.",
            "Related: Bond yields climb to a ten-year high",
            "We use cookies to improve your experience. By continuing you agree to our policy.",
            "© 2024 Example News. All rights reserved.",
        ]
    )
    article = normalize(raw(body))
    assert article.text == STORY
    assert article.title == "Rates Rise Again as Inflation Persists"
    assert article.dateline == "FRANKFURT"
    assert article.published_at == datetime(2024, 3, 7, 8, 15, tzinfo=UTC)
    assert [s.kind for s in article.stripped] == [
        "date-line",
        "navigation",
        "byline",
        "share-bar",
        "call-to-action",
        "cross-link",
        "cookie-notice",
        "copyright",
        "title",
        "dateline",
    ]


def test_producer_title_wins_and_its_repeat_leaves_the_text() -> None:
    article = normalize(raw("Rates rise again\n\n" + STORY, title="Rates  rise again"))
    assert article.title == "Rates rise again"
    assert article.text == STORY


def test_article_fields_are_consistent() -> None:
    article = normalize(raw("Rates rise â€” again. " + STORY))
    assert "—" in article.text
    assert article.word_count == len(article.text.split())
    assert article.lang == "en"
    assert article.text_sha256 == hashlib.sha256(fingerprint(article.text).encode()).hexdigest()


def test_copies_differing_in_quotes_and_case_share_a_hash() -> None:
    a = normalize(raw(STORY.replace("its third", "“its third”")))
    b = normalize(raw(STORY.replace("its third", '"ITS third"')))
    assert a.text != b.text
    assert a.text_sha256 == b.text_sha256


def test_a_date_inside_the_story_is_not_the_publication_date() -> None:
    body = STORY + "\n\nThe decision of 12.03.2024 was unanimous."
    assert normalize(raw(body)).published_at is None


def _wire_item(body: str, pub_status: str) -> RawArticle:
    from wiredesk.messages import RawArticleV2

    return RawArticleV2.model_validate(
        {
            "schema": "raw.v2",
            "id": f"kill-{pub_status}-{len(body)}",
            "source": "wire",
            "url": "https://wire.example/item",
            "headline": "Ferry strike story withdrawn",
            "body": body,
            "guid": "urn:wire:ferry",
            "version": "3",
            "pub_status": pub_status,
        }
    )


@pytest.mark.parametrize("pub_status", ["canceled", "withheld"])
def test_a_kill_or_withheld_notice_is_not_too_short(pub_status: str) -> None:
    article = normalize(_wire_item("Please kill this story.", pub_status))
    assert article.text == "Please kill this story."
    assert getattr(article, "pub_status", None) == pub_status


def test_a_notice_without_body_text_reads_its_headline() -> None:
    article = normalize(_wire_item("<p> </p>", "canceled"))
    assert article.text == "Ferry strike story withdrawn"


def test_a_usable_item_of_five_words_is_still_too_short() -> None:
    with pytest.raises(NormalizationError) as raised:
        normalize(_wire_item("Please kill this story.", "usable"))
    assert raised.value.reason == "too-short"

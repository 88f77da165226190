"""Datelines, headings and titles at the top of a story."""

from __future__ import annotations

import pytest

from services.ingest.lead import is_heading, make_title, take_dateline


@pytest.mark.parametrize(
    ("paragraph", "place", "rest"),
    [
        ("TARTOUS: Russia is pulling back its military.", "TARTOUS", "Russia is pulling back"),
        ("KYIV, Ukraine (Reuters) - Air raid sirens sounded.", "KYIV", "Air raid sirens"),
        ("NEW YORK — Stocks rose on Friday morning.", "NEW YORK", "Stocks rose"),
        ("BEIRUT, Dec 15 (Reuters) - Israeli jets struck targets.", "BEIRUT", "Israeli jets"),
        ("ABU DHABI: “We are ready,” the minister said.", "ABU DHABI", "“We are ready,”"),
    ],
)
def test_dateline_is_split_from_the_sentence(paragraph: str, place: str, rest: str) -> None:
    found = take_dateline(paragraph)
    assert found is not None
    assert found.place == place
    assert found.rest.startswith(rest)


@pytest.mark.parametrize(
    "paragraph",
    [
        "BREAKING: Russia is pulling back its military.",
        "Russia is pulling back: the ministry said so.",
        "NATO - the alliance - met on Friday.",  # not followed by a capital after the dash
        "UPDATE 2: Talks resume on Monday in Geneva.",
        "TARTOUS: Yes.",  # too little left to be a lead
    ],
)
def test_labels_and_ordinary_sentences_are_not_datelines(paragraph: str) -> None:
    found = take_dateline(paragraph)
    assert found is None or found.place not in {"BREAKING", "UPDATE"}
    if paragraph.startswith(("Russia", "TARTOUS: Yes", "NATO")):
        assert found is None


@pytest.mark.parametrize(
    ("line", "heading"),
    [
        ("Revealed: What Russian Troops Are Doing in Syria After Rebel Victory", True),
        ("Is Moscow Withdrawing From Syria? Yes and No", True),
        ("Central Bank Raises Rates Again", True),
        ("Syrian rebels control the approaches to Russian bases.", False),
        ("Bases", False),
        ("The ministry said the talks would resume on Monday.", False),
    ],
)
def test_heading_shape(line: str, heading: bool) -> None:
    assert is_heading(line) is heading


def test_title_is_the_first_sentence_shortened() -> None:
    long = (
        "Russia is pulling back its military from the front lines in northern Syria and from "
        "posts in the Alawite Mountains but is not leaving its two main bases in the country. "
        "More text follows."
    )
    title = make_title([long], 80)
    assert len(title) <= 80
    assert title.endswith("…")
    assert title.startswith("Russia is pulling back its military")


def test_title_skips_abbreviations_when_finding_the_first_sentence() -> None:
    text = "Gen. Petrov said the U.S. team left. Then more happened."
    assert make_title([text], 140) == "Gen. Petrov said the U.S. team left."

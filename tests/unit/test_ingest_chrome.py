"""The chrome classifier on phrasings that are not in the seeds: the rules are general."""

from __future__ import annotations

import random
import re

import pytest

from services.ingest import chrome
from services.ingest.chrome import classify, ends_sentence, features

NEWS_BEFORE = (
    "The central bank raised its main interest rate by half a point on Thursday, its third "
    "increase this year, citing persistent inflation in services and wages."
)
NEWS_AFTER = (
    "Economists polled before the decision had expected a smaller move, and the currency "
    "strengthened by almost one percent against the dollar after the announcement."
)


def kind_in_context(line: str) -> str | None:
    """Judge a line in the middle of a story, so that position rules do not decide."""
    return classify([NEWS_BEFORE, line, NEWS_AFTER])[1]


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        # newsletter sign-ups and other calls to action
        (
            "Sign up for our daily briefing – the news you need, straight to your inbox.",
            "call-to-action",
        ),
        ("Get our free newsletter: enter your email address below", "call-to-action"),
        ("Subscribe to our YouTube channel for more videos from the front", "call-to-action"),
        ("FOLLOW US ON WHATSAPP for breaking news alerts", "call-to-action"),
        ("Support independent journalism. Become a member today.", "call-to-action"),
        # share bars
        ("Share on Facebook Share on X Share via Email", "share-bar"),
        ("Share this story: WhatsApp Telegram Copy link", "share-bar"),
        ("Tweet Email Print", "share-bar"),
        # cookie notices
        (
            "We use cookies to personalise content and ads. By clicking Accept you consent "
            "to our use of cookies.",
            "cookie-notice",
        ),
        ("This website uses cookies to improve your browsing experience.", "cookie-notice"),
        # copyright footers
        ("© 2024 Harbour Media Ltd. All rights reserved.", "copyright"),
        (
            "Copyright 2024 The Associated Press. All rights reserved. This material may not "
            "be published, broadcast, rewritten or redistributed.",
            "copyright",
        ),
        # image credits
        ("Photo: Sergei Supinsky/AFP via Getty Images", "photo-credit"),
        ("(Photo by Chris McGrath/Getty Images)", "photo-credit"),
        ("Image credit: NASA/JPL", "photo-credit"),
        ("Picture: Reuters/Yara Nardi", "photo-credit"),
        # cross-links and teasers
        ("Related: Oil prices hit three-month high as supply fears grow", "cross-link"),
        ("RELATED | Central bank chief warns of sticky inflation", "cross-link"),
        ("See also: How the rate decision affects your mortgage", "cross-link"),
        ("Also read – Five things to know about the budget", "cross-link"),
        ("You may also like Markets rally as bond yields fall", "teaser"),
        ("More stories from Business", "teaser"),
        # embedded posts, navigation, language switchers, ads, tags, bylines
        ("A post shared by Volodymyr Zelensky (@zelenskyy_official)", "social-post"),
        ("Watch the moment the rate was announced pic.twitter.com/AbCdEf12", "social-post"),
        ("English | Русский | Українська", "language-switcher"),
        ("UA RU EN", "language-switcher"),
        ("Home › World › Europe", "navigation"),
        ("Skip to main content", "navigation"),
        ("Story continues below advertisement", "advertisement"),
        ("Sponsored content", "advertisement"),
        ("Tags: Inflation, Central banks, Interest rates", "tags"),
        ("By Anna Kowalska and Tom Reid", "byline"),
    ],
)
def test_unseen_chrome_is_recognised(line: str, kind: str) -> None:
    assert kind_in_context(line) == kind


@pytest.mark.parametrize(
    "line",
    [
        "Syrian rebels control the approaches to Russian bases.",
        "The company said two million people had signed up for the service last year.",
        "“Follow us,” the protesters chanted as they marched towards parliament.",
        "Photos of the damage were shared widely on social media.",
        "The newspaper's copyright lawsuit against the AI firm will go to trial in June.",
        "Related talks are expected next week in Geneva.",
        "Advertising revenue fell 5% in the quarter, the company said.",
        "Share prices fell sharply on Monday.",
        "The newsletter, which has 40,000 subscribers, said on Monday it would close.",
        "Is Moscow Withdrawing From Syria? Yes and No",  # subheading: structure, kept
        "Bases",
        "Cookies and other sweets were handed out to children at the border crossing.",
        "Other news outlets reported that the convoy had reached the coast by nightfall.",
        "Latest news from the front suggests the army has advanced several kilometres.",
        "More than 100 people were evacuated from the port district on Sunday.",
        "The mayor urged residents to sign up for evacuation alerts on our website.",
        "Residents were asked to donate blood at our hospital, the director said.",
    ],
)
def test_news_and_subheadings_are_kept(line: str) -> None:
    assert kind_in_context(line) is None


def test_embedded_post_takes_its_text_with_its_attribution_line() -> None:
    kinds = classify(
        [
            NEWS_BEFORE,
            "Huge queues at the border tonight https://t.co/XyZ123 pic.twitter.com/QwErTy",
            "— Jane Reporter (@janereports) March 3, 2024",
            NEWS_AFTER,
        ]
    )
    assert kinds == [None, "social-post", "social-post", None]


def test_attribution_does_not_take_a_news_paragraph_without_links() -> None:
    kinds = classify([NEWS_BEFORE, "— Jane Reporter (@janereports) 2024-03-03", NEWS_AFTER])
    assert kinds == [None, "social-post", None]


def test_short_unpunctuated_lines_closing_the_document_are_a_footer() -> None:
    kinds = classify([NEWS_BEFORE, NEWS_AFTER, "More from the region", "Comments"])
    assert kinds[:2] == [None, None]
    assert kinds[2:] == ["footer", "navigation"]


def test_a_short_sentence_closing_the_document_is_news() -> None:
    assert classify([NEWS_BEFORE, "The bank will meet again in June."]) == [None, None]


def test_features_measure_links_handles_and_capitals() -> None:
    f = features("JOIN US on @channel at https://example.com/x")
    assert f.handles == 1
    assert f.links == 1
    assert f.caps_ratio > 0.3
    assert not f.sentence_end


def test_title_ratio_is_measured_on_short_paragraphs_only() -> None:
    assert features("Is Moscow Withdrawing From Syria? Yes and No").title_ratio == 1.0
    assert features("the talks went on").title_ratio == 0.0
    long = " ".join(["Word"] * 81)
    assert features(long).title_ratio == 0.0
    assert features(long.upper()).caps_ratio == 0.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("He said so.", True),
        ("“We will stay,” he said.”", True),
        ("Really?!", True),
        ("(See the map.)", True),
        ("It went on…»", True),
        ("A full stop before a final newline.\n", True),
        ("Two newlines do not count.\n\n", False),
        ("No full stop", False),
        ("A colon:", False),
        ("", False),
        (".", True),
    ],
)
def test_ends_sentence(text: str, expected: bool) -> None:
    assert ends_sentence(text) is expected


def test_ends_sentence_agrees_with_the_pattern_it_replaced() -> None:
    pattern = re.compile(r"[.!?…][\"'”’»)\]]*$")
    rng = random.Random(5)
    for _ in range(20_000):
        text = "".join(rng.choice("a .!?…\"'”’»)]\n") for _ in range(rng.randint(0, 8)))
        assert ends_sentence(text) is bool(pattern.search(text)), repr(text)


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        # Case-insensitive patterns take İ for "i" and ſ for "s", which lowercasing does not:
        # the substring tests that save the pattern scans must not hide these lines from them.
        ("SİGN UP now for alerts", "call-to-action"),
        ("A poſt shared by Jane Reporter", "social-post"),
    ],
)
def test_letters_that_only_match_case_insensitively_still_reach_the_patterns(
    line: str, kind: str
) -> None:
    assert kind_in_context(line) == kind


def test_a_link_spelled_with_a_dotless_i_is_still_a_link() -> None:
    assert features("Details at example.ınfo today").links == 1
    assert features("Details at EXAMPLE.COM today").links == 1


@pytest.mark.parametrize(
    "call",
    [
        "Join us",
        "Follow us",
        "Follow our coverage",
        "Follow me",
        "Subscribe",
        "Sign-up",
        "Signup today",
        "Sign up",
        "Newsletters",
        "Download our app",
        "Get the app",
        "Support quality journalism",
        "Donate",
        "Become a patron",
        "Click here",
        "Tap here",
        "Turn on notifications",
        "Like us on Facebook",
        "Find us on Telegram",
        "Stay informed",
        "Stay updated",
        "Stay connected",
        "Stay tuned",
        "Don't miss out",
        "Dont miss a story",
        "Don't miss the latest",
        "Get the latest",
        "News alerts",
        "Enter your e-mail",
        "Enter your email",
        "Straight to your inbox",
        "Our Telegram channel",
        "Our WhatsApp group",
        "Our YouTube page",
        "Our Facebook page",
    ],
)
def test_every_call_to_action_phrase_is_recognised(call: str) -> None:
    """One line per alternative of the call-to-action pattern: the phrase pre-check in front
    of it must let each of them through."""
    assert kind_in_context(f"{call} now") == "call-to-action"


def test_no_language_code_or_name_holds_a_sentence_ender() -> None:
    """Why a language switcher can be refused on ``sentence_end`` before it is tokenized:
    the final ender sits in the last token, and no code or name (lowercased) contains one."""
    enders = "".join(chrome._SENTENCE_ENDERS)
    vocabulary = chrome._LANGUAGE_CODES | chrome._LANGUAGE_NAMES
    assert not [word for word in vocabulary if any(ch in word for ch in enders)]
    assert chrome._SWITCHER_TOKEN.fullmatch(enders) is not None  # enders are token chars
    assert classify(["EN | RU | UA"]) == ["language-switcher"]
    assert classify(["EN | RU | UA.", "The bank said rates would rise on Thursday."])[0] is None

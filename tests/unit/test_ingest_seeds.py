"""The five seeds: every chrome line gone, every news paragraph kept, dates where printed.

The judgements below were made by reading each seed: ``kept`` lists the opening words of each
paragraph that must survive, in order (news and subheadings); ``removed`` lists the chrome
with the rule kind expected to remove it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.ingest.normalize import normalize
from wiredesk.messages import Article, RawArticle

SEEDS = Path(__file__).resolve().parents[2] / "seeds"


@dataclass(frozen=True)
class Expected:
    kept: tuple[str, ...]
    removed: tuple[tuple[str, str], ...]
    published_at: datetime | None
    title: str
    dateline: str | None = None


EXPECTED: dict[str, Expected] = {
    "000": Expected(
        kept=(
            "Russia has begun withdrawing its military forces",
            "However, Moscow will retain its presence",
            "Russia has two main military bases in Syria",
            "Recent satellite images reveal at least two AN-124",
            "Military and security sources confirmed",
            "Is Moscow Withdrawing From Syria? Yes and No",  # subheading: structure, kept
            "A senior Syrian army officer stated",
            "Meanwhile, a high-ranking rebel official",
            "The official asserted that these matters",
            "Despite the withdrawal from certain positions",
            "Rebel forces reportedly remain near Russian bases",
        ),
        removed=(
            ("date-line", "date 2024-12-15"),
            ("call-to-action", "JOIN US ON TELEGRAM"),
            ("call-to-action", "@Kyivpost_official"),
            ("advertisement", "Advertisement"),
            ("teaser", "Other Topics of Interest"),
            ("teaser", "Chechen Police, Military Bases Targeted"),
        ),
        published_at=datetime(2024, 12, 15, tzinfo=UTC),
        title="Russia has begun withdrawing its military forces from frontline positions",
    ),
    "001": Expected(
        kept=(
            "Following the ousting of President Bashar al-Assad",
            "According to statements from four Syrian officials",
            "Recent satellite images show at least two Antonov",
            "Syrian military and security sources who maintain contact",
            "A senior Syrian army officer in contact",
            "Conversely, a senior rebel official",
            "The Kremlin has acknowledged ongoing discussions",
            "Reuters has not been able to confirm",
            "Russian troops have been in Syria since 2017",
            "Russian involvement in Syria has been a cornerstone",
            "Additionally, Yoruk Isik",
            "On the ground, a Russian military convoy",
            "Despite these changes, life at the Hmeimim base",
        ),
        removed=(
            ("social-post", "There has been increased activity at Russia's air base"),
            ("social-post", "pic.twitter.com"),
            ("social-post", "— Reuters (@Reuters) December 14, 2024"),
            ("social-post", "Since the downfall of Assad, their troops are withdrawing"),
            ("social-post", "@RamsaySky"),
            ("social-post", "— Sky News (@SkyNews) December 14, 2024"),
            ("cross-link", "Read: Russia Responds to Kyiv"),
        ),
        published_at=None,  # the only dates are the embedded posts', not the article's
        title="Following the ousting of President Bashar al-Assad, Russia has begun",
    ),
    "002": Expected(
        kept=(
            "Russia is pulling back its military from the front lines",
            "The ousting of Assad, who along with his late father",
            "Satellite footage from Friday shows",
            "Syrian military and security sources in contact with the Russians",
            "Kremlin says discussions with new rulers are ongoing",  # subheading-shaped line
            "Some equipment is being shipped back to Moscow",
            "A senior rebel official close to the new interim administration",
            "“It is a matter for future talks",
            "The Kremlin has said Russia is in discussions",
            "A Russian source said discussions",
            "Agency was unable to immediately ascertain",
            "Russian President Vladimir Putin, whose 2015 intervention",
            "Bases",
            "Moscow has backed Syria since early in the Cold War",
            "The bases in Syria are an integral part",
            "Russia also has eavesdropping posts in Syria",
        ),
        removed=(("date-line", "date 2024-12-15"), ("dateline", "TARTOUS:")),
        published_at=datetime(2024, 12, 15, tzinfo=UTC),
        title="Russia is pulling back its military from the front lines in northern Syria",
        dateline="TARTOUS",
    ),
    "003": Expected(
        kept=(
            "A column of Russian military vehicles was spotted",
            "Russia has begun withdrawing troops from the former front line",
            '"All we know at the moment',
            "“On a dusty road near the main Russian entrance",
            "The presence of Russians in Syria",
            "Satellite footage taken on Friday",
            "According to Syrian sources, Russia is withdrawing",
            "Syrian rebels control the approaches to Russian bases.",  # one-line news
            "However, on Wednesday, the British television channel BBC",
            "The base was created on the basis of an agreement",
            "No talks yet?",  # subheading
            "A senior official close to the new interim government",
            "“This is a matter of future negotiations",
            "Meanwhile, the Kremlin has announced",
        ),
        removed=(
            ("language-switcher", "BE RU EN"),
            ("title", "Revealed: What Russian Troops Are Doing in Syria After Rebel Victory"),
            ("date-line", "15.12.2024, 12:32"),
            ("navigation", "Latest news"),
        ),
        published_at=datetime(2024, 12, 15, 12, 32, tzinfo=UTC),  # no zone printed: UTC
        title="Revealed: What Russian Troops Are Doing in Syria After Rebel Victory",
    ),
    "004": Expected(
        kept=(
            "Russia is withdrawing its troops from the front line",
            "The overthrow of Assad, who had entered",
            "The agency reported",
            "Russian soldiers in Syria. What about the bases?",  # subheading
            "Satellite footage from Friday showed at least two An-124",
            "A senior official close to the new interim government",
            "“This is a matter of future talks",
            "The Kremlin has announced in recent days",
            "For now, it is not known what the leader",
            "The BBC reported on Wednesday",
            "As a result of a lightning offensive",
        ),
        removed=(("photo-credit", "Main photo source: mil.ru"),),
        published_at=None,
        title="Russia is withdrawing its troops from the front line in northern Syria",
    ),
}


def _normalize_seed(prefix: str) -> Article:
    (path,) = SEEDS.glob(f"{prefix}_*.txt")
    raw = RawArticle(id=path.stem, source="seed", url=str(path), body=path.read_text("utf-8"))
    return normalize(raw)


@pytest.fixture(scope="module", params=sorted(EXPECTED))
def seed(request: pytest.FixtureRequest) -> tuple[Article, Expected]:
    prefix: str = request.param
    return _normalize_seed(prefix), EXPECTED[prefix]


def test_every_news_paragraph_is_kept_in_order(seed: tuple[Article, Expected]) -> None:
    article, expected = seed
    paragraphs = article.text.split("\n\n")
    assert len(paragraphs) == len(expected.kept), paragraphs
    for paragraph, opening in zip(paragraphs, expected.kept, strict=True):
        assert paragraph.startswith(opening)


def test_every_chrome_line_is_gone_and_recorded(seed: tuple[Article, Expected]) -> None:
    article, expected = seed
    for kind, snippet in expected.removed:
        assert snippet not in article.text
        assert any(s.kind == kind and snippet in s.text for s in article.stripped), (
            kind,
            snippet,
            article.stripped,
        )


def test_nothing_else_is_stripped(seed: tuple[Article, Expected]) -> None:
    article, expected = seed
    kinds = {kind for kind, _ in expected.removed}
    assert {s.kind for s in article.stripped} == kinds


def test_published_at_only_where_the_seed_prints_a_date(seed: tuple[Article, Expected]) -> None:
    article, expected = seed
    assert article.published_at == expected.published_at


def test_title_and_dateline(seed: tuple[Article, Expected]) -> None:
    article, expected = seed
    assert article.title.startswith(expected.title)
    assert len(article.title) <= 140
    assert article.dateline == expected.dateline
    assert article.lang == "en"


def test_dateline_prefix_leaves_the_sentence() -> None:
    article = _normalize_seed("002")
    assert article.text.startswith("Russia is pulling back its military")
    assert "TARTOUS:" not in article.text

"""Text without spaces between words, and tables: what two real benchmark pages lost."""

from __future__ import annotations

from services.ingest.chrome import classify
from services.ingest.normalize import normalize
from services.ingest.text import word_count
from wiredesk.messages import RawArticle

JAPANESE = [
    "先日、不正に改造したiPhoneを販売したとして、商標法違反の疑いで男性が逮捕されました。",
    "報道によると、今回販売されたのは、いわゆる「脱獄」したiPhone。",
    "もちろん、Apple社は「脱獄」を認めていません。",
]


def test_han_and_kana_count_two_characters_a_word_and_spaced_scripts_are_unchanged() -> None:
    # services/ingest/text.py: CHARACTERS_PER_WORD (a Chinese word averages ~1.5-2 characters)
    assert word_count("Heavy rain flooded the town.") == 5
    assert word_count("Schwerer Regen überflutete die Stadt.") == 5
    assert word_count("商標法違反") == 2
    assert word_count("App Store にない") == 3  # two words, then three kana


def test_japanese_paragraphs_are_content_not_a_footer() -> None:
    assert classify(JAPANESE) == [None, None, None]


def test_a_japanese_article_is_kept() -> None:
    raw = RawArticle(id="j", source="s", url="j.txt", body="\n\n".join(JAPANESE))
    article = normalize(raw)
    assert article.word_count > 20
    assert "商標法違反" in article.text


def test_table_rows_are_data_and_menus_are_still_navigation() -> None:
    rows = ["| Pos. | Piloto | Pontos |", "| 1 | Kyle Busch | 5040 |"]
    assert classify(["A standings table of the season follows below, as of today.", *rows]) == [
        None,
        None,
        None,
    ]
    assert classify(["Home | World | Business", "A story sentence that goes on and on."])[0] == (
        "navigation"
    )

"""Text hygiene: repair, paragraphs, and the fingerprint that exact dedupe hashes."""

from __future__ import annotations

import random
import re
import sys
import unicodedata

import ftfy
import pytest

from services.ingest.normalize import fingerprint
from services.ingest.text import (
    _FTFY_CONFIG,
    _INVISIBLE,
    _SPACES,
    _SPACES_TO_COLLAPSE,
    _ends_clause,
    _single_spaced,
    needs_ftfy,
    paragraphs,
    repair,
    word_count,
    word_parts,
    words_in,
)


@pytest.mark.parametrize(
    ("broken", "fixed"),
    [
        ("Russiaâ€™s bases", "Russia’s bases"),
        ("the cafÃ© on the corner", "the café on the corner"),
        ("â€œWe will stay,â€\x9d he said", "“We will stay,” he said"),
        ("Россия".encode().decode("latin-1"), "Россия"),
        ("fish &amp; chips", "fish & chips"),
    ],
)
def test_mojibake_is_repaired(broken: str, fixed: str) -> None:
    assert repair(broken) == fixed


def test_curly_quotes_and_dashes_stay_in_the_displayed_text() -> None:
    text = "“Our forces” – he said — ‘now’"
    assert repair(text) == text


def test_text_is_nfc() -> None:
    decomposed = unicodedata.normalize("NFD", "Tartús café")
    assert repair(decomposed) == "Tartús café"


def test_line_ends_spaces_and_invisible_characters_are_normalised() -> None:
    assert paragraphs(repair("  One\u00a0 two\u200b\r\n\r\n\tThree   four  \rFive")) == [
        "One two",
        "Three four",
        "Five",
    ]


def test_hard_wrapped_lines_are_joined_but_line_paragraphs_are_not() -> None:
    text = "The ministry said the talks\nwould resume on Monday.\nA second paragraph.\n"
    assert paragraphs(text) == [
        "The ministry said the talks would resume on Monday.",
        "A second paragraph.",
    ]


def test_fingerprint_ignores_quotes_dashes_case_and_spacing() -> None:
    a = "“It is a matter for future talks,” he said — Moscow’s bases\n\nstay."
    b = '"it is a matter for future talks,"  HE said - moscow\'s bases stay.'
    assert fingerprint(a) == fingerprint(b)


def test_fingerprint_still_tells_different_words_apart() -> None:
    assert fingerprint("Russia is leaving") != fingerprint("Russia is staying")


def test_fingerprint_folds_compatibility_forms() -> None:
    assert fingerprint("ﬁnal ＡＢＣ…") == fingerprint("final abc...")


@pytest.mark.parametrize(
    "text",
    [
        "the cafÃ© on the corner",  # mojibake
        "Russiaâ€™s bases",
        "a bell\x07 rang",  # C0 control
        "a \x9d here",  # C1 control
        "fish &amp; chips",  # entity
        "&#8217;",
        "the ﬁnal word",  # ligature
        "ＡＢＣ",  # full-width
        "lost \ufffd byte",  # replacement character
    ],
)
def test_text_with_a_defect_ftfy_repairs_goes_to_ftfy(text: str) -> None:
    assert needs_ftfy(text)


@pytest.mark.parametrize(
    "text",
    ["Tartús café", "“Our forces” – he said — ‘now’", "AT&T and fish & chips;", "Россия", ""],
)
def test_clean_text_skips_ftfy(text: str) -> None:
    assert not needs_ftfy(text)


def test_the_collapse_pre_check_knows_every_space_the_pattern_collapses() -> None:
    """A line is collapsed only when it holds one of ``_SPACES_TO_COLLAPSE``: a space
    character missing there would be left uncollapsed."""
    listed = set("".join(_SPACES_TO_COLLAPSE))
    for code in range(0x10000):
        char = chr(code)
        assert bool(_SPACES.fullmatch(char)) is (char == " " or char in listed), hex(code)


@pytest.mark.parametrize("space", ["\t", "\f", "\v", "\u00a0", "\u1680", "\u2003", "\u3000", "  "])
def test_every_kind_of_space_is_collapsed(space: str) -> None:
    assert paragraphs(f"one{space}two") == ["one two"]


def test_word_parts_add_up_over_paragraphs() -> None:
    """normalize sums the paragraphs' parts instead of counting the joined article again."""
    rng = random.Random(3)
    pieces = ["Kyiv", "said", "中央银行", "日本銀行は", "、", "a", " ", "\n", "“quoted”", "x1", "—"]
    for _ in range(500):
        paras = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 12))) for _ in range(4)]
        joined = "\n\n".join(paras)
        assert words_in(word_parts(p) for p in paras) == word_count(joined), repr(paras)


def test_ends_clause_agrees_with_the_pattern_it_replaced() -> None:
    pattern = re.compile(r"[.!?:;…\"”’»)\]]$")
    rng = random.Random(5)
    alphabet = '.!?:;…"”’»)]a \n('
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6)))
        assert _ends_clause(text) == bool(pattern.search(text)), repr(text)


def test_repair_skips_only_what_a_clean_text_cannot_need() -> None:
    """The one-class screen in repair gives what running every check gives."""

    def unscreened(text: str) -> str:
        if needs_ftfy(text):
            text = ftfy.fix_text(text, _FTFY_CONFIG)
        text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n")
        text = text.replace("\u2029", "\n\n")
        return unicodedata.normalize("NFC", _INVISIBLE.sub("", text))

    rng = random.Random(9)
    alphabet = "ab é\r\n\u2028\u2029\u200b\u00ad\ufeff&amp;#\x85\x07Ã©â€™\ufb01\uff21\ufffde\u0301"
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        assert repair(text) == unscreened(text), repr(text)


def test_the_space_is_the_only_printable_whitespace() -> None:
    """What lets _single_spaced skip the split: any other whitespace fails isprintable()."""
    spaces = [chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()]
    assert [c for c in spaces if c.isprintable()] == [" "]


def test_single_spaced_is_split_and_join() -> None:
    rng = random.Random(13)
    alphabet = ["a", "Bé", " ", "  ", "\n", "\n\n", "\t", "\u00a0", "\u2028", "\x85", "\u200e"]
    for _ in range(5000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))
        assert _single_spaced(text) == " ".join(text.split()), repr(text)

"""Text hygiene: what every document goes through before any rule looks at its lines.

Rules further on (dates, chrome, datelines) match on characters and line shapes, so they must
see one spelling of the text: repaired encoding, NFC, one kind of line end and of space.
Display text keeps curly quotes and dashes (they are the author's); only the fingerprint folds
them, because syndicated copies differ exactly there.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

import ftfy

__all__ = [
    "WordParts",
    "fingerprint",
    "needs_ftfy",
    "paragraphs",
    "repair",
    "word_count",
    "word_parts",
    "word_set",
    "words_in",
]

# ftfy costs about 1 ms per 3 KB article, most of it spent proving that clean text is clean.
# Mojibake of UTF-8 read as Latin-1/cp1252 always shows a lead byte (Â..ô) followed by a
# continuation byte (\x80-\xbf or its cp1252 spelling); C1 controls, escapes, entities,
# ligatures, full-width forms and U+FFFD are the other things ftfy repairs. Text with none of
# them skips ftfy (a conservative pre-check: it may send clean text to ftfy, never the reverse
# for the cases listed).
# Three patterns rather than one alternation: a pattern that opens with one character class
# is scanned by a fast C loop, an alternation is tried branch by branch at every position
# (measured: a third of the time on news articles).
_MOJIBAKE = re.compile(
    r"[\u00c2-\u00f4][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192"
    r"\u02c6\u02dc\u2013-\u203a\u20ac\u2122]"
)
_ODD_CHARACTER = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufb00-\ufb06\uff01-\uff5e\ufffd]"
)
_ENTITY = re.compile(r"&#?\w{2,8};")
_FTFY_CONFIG = ftfy.TextFixerConfig(uncurl_quotes=False, explain=False)
_SPACES = re.compile(r"[ \t\f\v\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")
# What ``_SPACES`` would change: two spaces in a row, or any of its other characters. A line
# with none of them is left as it is, and substring tests find that out three times faster
# than the substitution does (every single space is a match it replaces by itself).
_SPACES_TO_COLLAPSE = (
    "  ",
    "\t",
    "\f",
    "\v",
    "\u00a0",
    "\u1680",
    *map(chr, range(0x2000, 0x200B)),
    "\u202f",
    "\u205f",
    "\u3000",
)
_INVISIBLE = re.compile(r"[\u200b-\u200d\u2060\ufeff\u00ad]")
# Every character that can start a match of _ODD_CHARACTER, _MOJIBAKE or _INVISIBLE, in one
# class: one scan of a clean text (most news) rules out all three, a third of the cost of
# running them (measured: 8 us against 24 us on a 3 KB article).
_SUSPECT = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufb00-\ufb06\uff01-\uff5e\ufffd"
    r"\u00c2-\u00f4\u200b-\u200d\u2060\ufeff\u00ad]"
)
_BLANK_LINE = re.compile(r"\n[ \t\u00a0]*\n")
# A line that stops with one of these ends a sentence (or a clause): it is not a hard wrap.
_TERMINALS = (".", "!", "?", ":", ";", "…", '"', "”", "’", "»", ")", "]")

_FOLD: tuple[tuple[str, str], ...] = tuple(
    {
        "‘": "'",
        "’": "'",
        "‚": "'",
        "‛": "'",
        "′": "'",
        "`": "'",
        "´": "'",
        "“": '"',
        "”": '"',
        "„": '"',
        "‟": '"',
        "″": '"',
        "«": '"',
        "»": '"',
        "‹": "'",
        "›": "'",
        "‐": "-",
        "‑": "-",
        "‒": "-",
        "–": "-",
        "—": "-",
        "―": "-",
        "−": "-",
        "…": "...",
    }.items()
)


def needs_ftfy(text: str) -> bool:
    """Whether the text shows any of the defects ftfy repairs (see the patterns above)."""
    return bool(
        _ODD_CHARACTER.search(text)
        or _MOJIBAKE.search(text)
        or ("&" in text and _ENTITY.search(text))
    )


def repair(text: str) -> str:
    """Mojibake and control characters fixed, NFC, ``\\n`` line ends.

    NFC because the same word typed on two keyboards may arrive composed or decomposed, and
    every later regex and the hash must treat both alike.

    A text without a ``_SUSPECT`` character has nothing for ftfy (bar an entity) and no
    invisible character to drop, then or after the line-end replacements (which only write
    ``\n``), so those scans are skipped for it.
    """
    suspect = _SUSPECT.search(text) is not None
    if (suspect or "&" in text) and needs_ftfy(text):
        text = ftfy.fix_text(text, _FTFY_CONFIG)
        suspect = True
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n")
    text = text.replace("\u2029", "\n\n")
    if suspect:
        text = _INVISIBLE.sub("", text)
    return unicodedata.normalize("NFC", text)


def _ends_clause(text: str) -> bool:
    """Whether the text ends in one of ``_TERMINALS``, or in one and then a newline: what the
    pattern ``[.!?:;…"”’»)\\]]$`` answered (``$`` also matches before a final newline),
    without a regex, since one anchored at the end is still tried from every position."""
    return text.endswith(_TERMINALS) or (text.endswith("\n") and text[:-1].endswith(_TERMINALS))


def _collapse(line: str) -> str:
    if any(map(line.__contains__, _SPACES_TO_COLLAPSE)):
        line = _SPACES.sub(" ", line)
    return line.strip()


def paragraphs(text: str) -> list[str]:
    """Split repaired text into paragraphs, one string each, spaces collapsed.

    Sources disagree on what a paragraph break is: some use blank lines, some one line per
    paragraph. A line is its own paragraph, except that a line which stops mid-sentence and
    is followed by a lowercase continuation inside the same block is a hard wrap and is
    joined back (plain-text wires wrap at 70-80 columns).
    """
    result: list[str] = []
    for block in _BLANK_LINE.split(text):
        current = ""
        for raw_line in block.split("\n"):
            line = _collapse(raw_line)
            if not line:
                continue
            if current and not _ends_clause(current) and line[0].islower():
                current = f"{current} {line}"
                continue
            if current:
                result.append(current)
            current = line
        if current:
            result.append(current)
    return result


def word_set(words: str) -> frozenset[str]:
    """A vocabulary written as one space-separated string, for readable word lists."""
    return frozenset(words.split())


_SPACELESS = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
CHARACTERS_PER_WORD = 2
"""Chinese and Japanese write no spaces: a clause of thirty characters is one whitespace
"word". There, two characters count as a word (a Chinese word averages about 1.5-2
characters), so the minimum length means about the same amount of news in every script."""


WordParts = tuple[int, int]
"""What :func:`word_count` counts in a text: its whitespace-delimited words once Chinese and
Japanese characters are read as spaces, and the number of those characters."""


def word_parts(text: str) -> WordParts:
    """The two terms of :func:`word_count`. Both add up over texts joined by whitespace (a
    split never crosses the separator, and the characters are counted one by one), so the
    count of a whole article can be summed from its paragraphs' parts, which chrome
    classification has already measured (see :func:`words_in`)."""
    if text.isascii():
        return len(text.split()), 0
    spaceless = len(_SPACELESS.findall(text))
    if not spaceless:
        return len(text.split()), 0
    return len(_SPACELESS.sub(" ", text).split()), spaceless


def words_in(parts: Iterable[WordParts]) -> int:
    """:func:`word_count` of texts joined by whitespace, from each one's :func:`word_parts`."""
    spaced = spaceless = 0
    for words, characters in parts:
        spaced += words
        spaceless += characters
    return spaced + spaceless // CHARACTERS_PER_WORD


def word_count(text: str) -> int:
    """Whitespace-delimited words; in Chinese and Japanese, two characters count as one."""
    return words_in((word_parts(text),))


def fingerprint(text: str) -> str:
    """The form of the text that exact-duplicate detection hashes.

    Syndicated copies of one story differ in case, quote and dash style, and spacing; none
    of that is a different story, so all of it is folded away here (and only here).
    """
    folded = unicodedata.normalize("NFKC", text)
    # str.replace per character beats str.translate here: translate looks every character
    # up in a dict, while replace is a C scan that most of the characters never enter
    for old, new in _FOLD:
        if old in folded:
            folded = folded.replace(old, new)
    return _single_spaced(folded.casefold())


def _single_spaced(text: str) -> str:
    """``" ".join(text.split())``, without splitting a text whose only other whitespace is the
    paragraph breaks (what normalize hands over: paragraphs() collapsed every line).

    Splitting builds a string per word (a 3 KB article: 24 us of the fingerprint's 31, measured).
    Replacing the breaks by spaces keeps the split the same, and a result that is printable
    (no whitespace but the space is printable; test_ingest_text checks every code point) with
    no double, leading or trailing space is already what the join would give.
    """
    joined = text.replace("\n\n", " ")
    if (
        joined.isprintable()
        and "  " not in joined
        and not joined.startswith(" ")
        and not joined.endswith(" ")
    ):
        return joined
    return " ".join(text.split())

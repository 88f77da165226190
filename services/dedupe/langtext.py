"""Tokens and background frequencies per language, for the TF-IDF of non-English articles.

Why per language
----------------
The lexical score was built for English: ``\\w+`` tokens and wordfreq's English table. On other
languages both break: a run of Chinese characters is one ``\\w+`` "word" (a whole clause, which
no other article repeats, so two reports of one event share no term), an Arabic word spelled
with and without vowel marks or with another alef form is two terms, and a German or Turkish
word is weighted by its frequency in *English* (unknown there, hence a name's weight). Ingest
detects each article's language (``Article.lang``, py3langid), so the stage can tokenize and
weight every article in its own language:

- **Han, Hiragana, Katakana, Hangul runs**: overlapping character bigrams (a lone character
  stays a unigram). Why not jieba: a 20 MB dictionary and a slow pure-Python segmenter for a
  score that only needs shared units; bigrams are the standard segmentation-free unit for
  Chinese retrieval (e.g. Lucene's CJKBigramFilter) and need nothing.
- **Arabic**: vowel marks (harakat, superscript alef) and tatweel removed, alef forms (أ إ آ ٱ)
  folded to ا and alef maqsura ى to ي, the usual light normalization of Arabic retrieval.
- **Turkish**: dotted and dotless I lower-cased the Turkish way (``I`` -> ``ı``, ``İ`` -> ``i``).
- everything else: ``\\w+`` of the case-folded text, as for English.

Background frequencies come from wordfreq's table for the language (it covers every language
of the dev sets); a language without a table uses English's. For Chinese and Japanese the
bigram is looked up in the table directly (its entries are words, most of them two
characters), because ``wordfreq.word_frequency`` would segment the query with jieba or MeCab,
which are not installed; a bigram the table lacks (one spanning two words) gets the frequency
of its rarer character times ``_CJK_SPAN_FACTOR``, a crude but fixed estimate, so it is the
same in every replica.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable
from typing import Final

from services.dedupe.lexical import SparseVector, WordfreqTfidf

__all__ = [
    "CJK_LANGS",
    "LanguageTfidf",
    "arabic_normalize",
    "cjk_bigrams",
    "language_tokens",
    "table_language",
]

CJK_LANGS: Final = frozenset({"zh", "ja", "ko"})

_CJK_CHAR: Final = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_CJK_RUN: Final = re.compile(f"[{_CJK_CHAR}]+")
_WORD_OR_CJK: Final = re.compile(f"[{_CJK_CHAR}]+|[^\\W{_CJK_CHAR}]+", re.UNICODE)
_WORD: Final = re.compile(r"\w+", re.UNICODE)
_ARABIC_MARKS: Final = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
_ARABIC_FOLD: Final = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي"})
_TURKISH_FOLD: Final = str.maketrans({"I": "ı", "İ": "i"})
_CJK_SPAN_FACTOR: Final = 0.01

_TABLE_LANGUAGES: Final = frozenset(
    {
        "ar",
        "bn",
        "bs",
        "bg",
        "ca",
        "zh",
        "hr",
        "cs",
        "da",
        "nl",
        "en",
        "fi",
        "fr",
        "de",
        "el",
        "he",
        "hi",
        "hu",
        "is",
        "id",
        "it",
        "ja",
        "ko",
        "lv",
        "lt",
        "mk",
        "ms",
        "nb",
        "fa",
        "pl",
        "pt",
        "ro",
        "ru",
        "sl",
        "sk",
        "sr",
        "es",
        "sv",
        "fil",
        "ta",
        "tr",
        "uk",
        "ur",
        "vi",
    }
)
"""Languages with a wordfreq table (wordfreq 3.1, ``available_languages``), fixed here so that
the choice does not depend on which tables an installation happens to have."""


def table_language(lang: str) -> str:
    """The wordfreq table an article of ``lang`` is weighted with ('en' when none)."""
    return lang if lang in _TABLE_LANGUAGES else "en"


def arabic_normalize(text: str) -> str:
    """Marks and tatweel removed, alef forms and alef maqsura folded (see module doc)."""
    return _ARABIC_MARKS.sub("", unicodedata.normalize("NFC", text)).translate(_ARABIC_FOLD)


def cjk_bigrams(run: str) -> list[str]:
    """Overlapping bigrams of a run of CJK characters; a single character is its own token."""
    if len(run) == 1:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)]


def language_tokens(text: str, lang: str) -> list[str]:
    """Lower-cased tokens of ``text`` in language ``lang`` (ISO 639-1, or 'und').

    CJK runs become bigrams in every language (a Chinese name quoted in a German article is
    still Chinese), so an article whose language was misdetected still tokenizes sensibly."""
    if lang == "tr":
        text = text.translate(_TURKISH_FOLD)
    elif lang == "ar":
        text = arabic_normalize(text)
    lowered = text.lower()
    if _CJK_RUN.search(lowered) is None:
        return _WORD.findall(lowered)
    tokens: list[str] = []
    for piece in _WORD_OR_CJK.findall(lowered):
        if _CJK_RUN.fullmatch(piece):
            tokens.extend(cjk_bigrams(piece))
        else:
            tokens.append(piece)
    return tokens


def cjk_frequency(table: dict[str, float]) -> Callable[[str], float]:
    """Frequency of a CJK token from a wordfreq table (see module doc), or of any other token
    found verbatim in it (0 when absent: the caller applies its floor for unknown words)."""

    def frequency(token: str) -> float:
        found = table.get(token)
        if found is not None:
            return found
        if len(token) == 2 and _CJK_RUN.fullmatch(token):
            rarer = min(table.get(token[0], 0.0), table.get(token[1], 0.0))
            return rarer * _CJK_SPAN_FACTOR
        return 0.0

    return frequency


def idf_of_frequency(frequency: float, doc_len: float, floor: float) -> float:
    """``log(1 / df)`` with ``df = 1 - exp(-f L)`` (lexical.py's Poisson model)."""
    f = max(frequency, floor)
    return max(math.log(1.0 / -math.expm1(-f * doc_len)), 0.0)


class LanguageTfidf:
    """TF-IDF vectors in each article's own language: English exactly as ``WordfreqTfidf``
    (bit-identical, the same fast path), other languages with ``language_tokens`` and their
    own wordfreq table. One vectorizer per table, built on first use."""

    def __init__(self, *, doc_len: float = 500.0) -> None:
        self._doc_len = doc_len
        self._english = WordfreqTfidf(doc_len=doc_len)
        self._by_table: dict[str, WordfreqTfidf] = {"en": self._english}

    def vectorizer(self, lang: str) -> WordfreqTfidf:
        table = table_language(lang)
        found = self._by_table.get(table)
        if found is None:
            found = self._by_table[table] = _ForeignTfidf(table, doc_len=self._doc_len)
        return found

    def vector(self, text: str, lang: str) -> SparseVector:
        return self.vectorizer(lang).vector(text)


class _ForeignTfidf(WordfreqTfidf):
    """``WordfreqTfidf`` with ``language_tokens`` and, for CJK, table lookups of bigrams."""

    def __init__(self, lang: str, *, doc_len: float) -> None:
        super().__init__(lang=lang, doc_len=doc_len)
        self._cjk = cjk_frequency(self._table) if lang in CJK_LANGS else None

    def tokens(self, text: str) -> list[str]:  # type: ignore[override]  # an instance's language
        return language_tokens(text, self._lang)

    def _uncached_idf(self, word: str) -> float:
        if self._cjk is not None:
            return idf_of_frequency(self._cjk(word), self._doc_len, 1e-8)
        return self._idf_of_frequency(word)

"""The top of a story: its heading, its dateline, and a title when there is no heading.

Sites print the headline as the first line, and wires open the first paragraph with a place in
capitals (``TARTOUS:``, ``KYIV, Ukraine (Reuters) -``). Both are metadata: left in the text,
they make two copies of one story differ in their first words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from services.ingest.chrome import Features, features
from services.ingest.text import fingerprint, word_set

__all__ = ["Dateline", "is_heading", "make_title", "same_text", "take_dateline"]

_DATELINE = re.compile(
    r"^(?P<place>[A-Z][A-Z'’.]+(?:[ -][A-Z][A-Z'’.]+){0,3})"
    r"(?:,\s*(?P<region>[A-Z][\w.'’ -]{1,30}?))?"
    r"(?:,?\s*(?P<date>[A-Z][a-z]{2,8}\.?\s+\d{1,2}))?"
    r"\s*(?:\((?P<agency>[^()]{2,30})\))?"
    r"\s*(?::|—|–|-{1,2})\s+(?=[\"“‘'A-Z0-9])"
)
# Capitalized labels that open a paragraph the way a dateline does but name no place.
_NOT_PLACES = word_set(
    "BREAKING UPDATE UPDATED EXCLUSIVE WATCH LIVE ANALYSIS OPINION EDITORIAL VIDEO PHOTOS "
    "URGENT FLASH ALERT NEW REVEALED EXPLAINER FACTBOX COMMENT INTERVIEW REVIEW NOTE NB PS "
    "UPDATE1 UPDATE2 CORRECTED REFILE FEATURE POLL QUIZ"
)
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])[\"”’]?\s+(?=[\"“‘]?[A-Z0-9])")
_ABBREVIATION = re.compile(
    r"\b(?:[A-Z]|Mr|Mrs|Ms|Dr|Gen|Lt|Col|Sgt|St|Jan|Feb|Aug|Sept?|Oct|Nov|Dec|U\.S|U\.K)\.$"
)


@dataclass(frozen=True, slots=True)
class Dateline:
    place: str
    prefix: str
    rest: str


def take_dateline(paragraph: str) -> Dateline | None:
    """``TARTOUS: Russia is ...`` -> place ``TARTOUS``, the sentence without the prefix."""
    match = _DATELINE.match(paragraph)
    if not match:
        return None
    place = match.group("place").strip(" .")
    letters = sum(ch.isalpha() for ch in place)
    if letters < 3 or place.replace(" ", "") in _NOT_PLACES or len(place) > 40:
        return None
    rest = paragraph[match.end() :].strip()
    if len(rest.split()) < 3:
        return None
    return Dateline(place=place, prefix=match.group(0).strip(), rest=rest)


def is_heading(paragraph: str, measured: Features | None = None) -> bool:
    """A headline-shaped line: short, not a finished sentence, mostly capitalized words,
    or phrased as a question or exclamation (``Is Moscow Leaving? Yes and No``).

    ``measured``: the paragraph's features if the caller has them (chrome classification
    measured every paragraph); the test reads none that depend on the paragraph's position.
    """
    f = measured if measured is not None and measured.text == paragraph else features(paragraph)
    if f.words < 3 or f.words > 25 or len(paragraph) > 200:
        return False
    if paragraph.endswith((".", ",", ";", ":")):
        return False
    return f.title_ratio >= 0.6 or paragraph.endswith(("?", "!"))


def same_text(a: str, b: str) -> bool:
    return fingerprint(a).strip(" .") == fingerprint(b).strip(" .")


def _first_sentence(paragraph: str) -> str:
    for match in _SENTENCE_SPLIT.finditer(paragraph):
        candidate = paragraph[: match.start()].rstrip()
        if not _ABBREVIATION.search(candidate):
            return candidate
    return paragraph


def make_title(paragraphs: list[str], max_chars: int) -> str:
    """The first sentence, shortened at a word boundary: wires often send no headline."""
    if not paragraphs:
        return ""
    sentence = _first_sentence(paragraphs[0])
    if len(sentence) <= max_chars:
        return sentence
    cut = sentence[: max_chars - 1].rsplit(" ", 1)[0].rstrip(" ,;:-–—")
    return cut + "…"

"""Pure normalization: a raw document in, clean text and metadata out. No I/O.

The steps run in a fixed order because each relies on the one before:
hygiene (so rules see one spelling) -> HTML extraction -> date lines (top of the document,
before chrome rules could take them for footers) -> chrome -> heading -> dateline -> title,
language and fingerprint of what is left. Everything removed is recorded in
``Article.stripped`` with the code of the rule that removed it, so a wrong removal can be
traced to its rule from the output alone.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo

from services.ingest.chrome import Features, classify_features, measure
from services.ingest.dates import match_date_prefix
from services.ingest.fragment import fragment_text
from services.ingest.html import EXTRACTORS, extract_html
from services.ingest.item import is_fragment, with_item_fields
from services.ingest.lang import detect_language
from services.ingest.lead import is_heading, make_title, same_text, take_dateline
from services.ingest.text import fingerprint, paragraphs, repair, word_count, word_parts, words_in
from wiredesk.limits import MAX_SHORT_TEXT_CHARS, MAX_TITLE_CHARS, MAX_URL_CHARS, check_date
from wiredesk.messages import Article, RawArticle, RawArticleV2, Stripped

__all__ = ["Limits", "NormalizationError", "fingerprint", "normalize"]


class NormalizationError(ValueError):
    """The document cannot become an article (empty, too short, too long)."""

    def __init__(self, reason: str, error: str) -> None:
        super().__init__(f"{reason}: {error}")
        self.reason = reason
        self.error = error


@dataclass(slots=True)
class Limits:
    """What counts as an article, and the assumptions normalization may not guess."""

    min_words: int = 20
    max_body_chars: int = 500_000
    """Longest *extracted text* kept (what a reader gets; ~80,000 words)."""
    max_raw_chars: int = 4_000_000
    """Longest raw document read (an HTML page of 1.5 MB is normal; CNN's is 1.4 M chars)."""
    naive_tz: tzinfo = UTC
    """Zone of dates printed without one; UTC unless the source's zone is known."""
    title_max_chars: int = 140
    date_line_window: int = 6
    """Only the first paragraphs are searched for the article's own date: a date further
    down is usually an embedded post's or a quoted event's, not the article's."""


@dataclass(slots=True)
class _Draft:
    paragraphs: list[str]
    stripped: list[Stripped] = field(default_factory=list)
    published_at: datetime | None = None
    title: str | None = None
    url: str | None = None
    author: str | None = None
    dateline: str | None = None
    extractor: str | None = None
    """Which HTML extractor produced the paragraphs (see services.ingest.html)."""
    measured: dict[str, Features] = field(default_factory=dict)
    """The chrome features of each paragraph chrome kept, by its text: the heading test and
    the word count read them instead of measuring the same paragraphs again."""

    def strip(self, kind: str, text: str) -> None:
        self.stripped.append(Stripped(kind=kind, text=text))


def _take_date_lines(draft: _Draft, limits: Limits) -> None:
    """Date lines are metadata: the first near the top gives ``published_at``.

    A paragraph that is only a date is removed wherever it is; a date that opens a longer
    paragraph is cut off only near the top, and only when labelled or opening the very first
    paragraph (``date 2024-12-15 Russia has ...``).
    """
    kept: list[str] = []
    for index, paragraph in enumerate(draft.paragraphs):
        found = match_date_prefix(paragraph, naive_tz=limits.naive_tz)
        near_top = index < limits.date_line_window
        if found is None:
            kept.append(paragraph)
            continue
        rest = paragraph[found.end :].strip()
        if rest and not (near_top and (found.labelled or index == 0)):
            kept.append(paragraph)
            continue
        if rest and not rest[0].isupper() and rest[0] not in "\"“'‘«":
            kept.append(paragraph)  # "15.12.2024 was ..." is a sentence about a date
            continue
        if draft.published_at is None and (near_top or found.labelled):
            draft.published_at = found.when
        draft.strip("date-line", paragraph[: found.end].strip())
        if rest:
            kept.append(rest)
    draft.paragraphs = kept


def _take_chrome(draft: _Draft) -> None:
    kept: list[str] = []
    feats = measure(draft.paragraphs)
    for f, kind in zip(feats, classify_features(feats), strict=True):
        if kind is None:
            kept.append(f.text)
            draft.measured[f.text] = f
        else:
            draft.strip(kind, f.text)
    draft.paragraphs = kept


def _word_count(draft: _Draft) -> int:
    """``word_count("\n\n".join(draft.paragraphs))``, summed from the paragraphs' parts:
    those chrome measured are not counted again (the dateline step rewrites the first)."""
    measured = draft.measured
    return words_in(
        measured[p].word_parts if p in measured else word_parts(p) for p in draft.paragraphs
    )


def _take_heading(draft: _Draft) -> None:
    """An explicit title wins; a first line that repeats it, or is shaped like a headline,
    is the heading and leaves the body (it is not part of the story's text)."""
    if not draft.paragraphs or len(draft.paragraphs) < 2:
        return
    first = draft.paragraphs[0]
    if draft.title and same_text(first, draft.title):
        draft.strip("title", draft.paragraphs.pop(0))
    elif draft.title is None and is_heading(first, draft.measured.get(first)):
        draft.title = first
        draft.strip("title", draft.paragraphs.pop(0))


def _take_dateline(draft: _Draft) -> None:
    if not draft.paragraphs:
        return
    found = take_dateline(draft.paragraphs[0])
    if found is None:
        return
    draft.dateline = found.place
    draft.paragraphs[0] = found.rest
    draft.strip("dateline", found.prefix)


def _draft(raw: RawArticle, limits: Limits) -> _Draft:
    title = " ".join(raw.title.split()) if raw.title and raw.title.strip() else None
    if raw.content_type == "text/html" and is_fragment(raw):
        draft = _Draft(paragraphs=paragraphs(repair(fragment_text(raw.body))), title=title)
        draft.extractor = "fragment"
        return draft
    if raw.content_type == "text/html":
        page = extract_html(raw.body, url=raw.url or None, naive_tz=limits.naive_tz)
        draft = _Draft(paragraphs=paragraphs(repair(page.text)))
        draft.title = title or (" ".join(repair(page.title).split()) if page.title else None)
        draft.published_at = page.published_at
        draft.url = page.url
        draft.author = page.author
        draft.extractor = page.extractor
        return draft
    return _Draft(paragraphs=paragraphs(repair(raw.body)), title=title)


def _empty_reason(raw: RawArticle, draft: _Draft) -> str:
    """Says which extractor gave up, so an empty page can be traced (and reported)."""
    if raw.content_type != "text/html":
        return "no text left after normalization"
    if draft.extractor is None:
        return f"no text in the page: every HTML extractor gave up ({', '.join(EXTRACTORS)})"
    return f"no text left after normalization of what {draft.extractor} extracted"


def _article_url(raw: RawArticle, canonical: str | None) -> str:
    """The producer's URL is kept when it is a web address (it is how the producer finds
    the document again); the page's canonical URL fills in for file paths and other
    locators."""
    if canonical and not raw.url.startswith(("http://", "https://")):
        return canonical
    return raw.url


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _fit(draft: _Draft) -> None:
    """Metadata read from the page within the article's limits (wiredesk.limits): a page's
    byline or date is a hint, so an absurd one is shortened or dropped, never a reason to
    reject the article."""
    if draft.author is not None:
        draft.author = _clip(draft.author, MAX_SHORT_TEXT_CHARS)
    if draft.dateline is not None:
        draft.dateline = _clip(draft.dateline, MAX_SHORT_TEXT_CHARS)
    if draft.url is not None and len(draft.url) > MAX_URL_CHARS:
        draft.url = None
    if draft.published_at is not None:
        try:
            check_date(draft.published_at)
        except ValueError:
            draft.published_at = None


def normalize(raw: RawArticle, limits: Limits | None = None) -> Article:
    """Clean one raw document into an :class:`Article`, or raise NormalizationError (pure)."""
    limits = limits or Limits()
    if len(raw.body) > limits.max_raw_chars:
        raise NormalizationError(
            "too-large", f"{len(raw.body)} chars of document > limit of {limits.max_raw_chars}"
        )
    draft = _draft(raw, limits)
    extracted = sum(len(p) for p in draft.paragraphs)
    if extracted > limits.max_body_chars:
        raise NormalizationError(
            "too-large", f"{extracted} chars of text > limit of {limits.max_body_chars}"
        )
    _take_date_lines(draft, limits)
    _take_chrome(draft)
    _take_heading(draft)
    _take_dateline(draft)
    text = "\n\n".join(draft.paragraphs)
    words = _word_count(draft)
    # A kill or withheld notice is short by nature and must reach dedupe (it withdraws the
    # item from its story): no minimum, and its headline stands in for an empty body.
    notice = isinstance(raw, RawArticleV2) and raw.pub_status in ("canceled", "withheld")
    if notice and words == 0 and draft.title:
        text = " ".join(draft.title.split())
        words = word_count(text)
    if words == 0:
        raise NormalizationError("empty", _empty_reason(raw, draft))
    if words < limits.min_words and not notice:
        raise NormalizationError("too-short", f"{words} words < minimum of {limits.min_words}")
    title = draft.title or make_title(draft.paragraphs, limits.title_max_chars)
    _fit(draft)
    article = Article(
        id=raw.id,
        source=raw.source,
        url=_article_url(raw, draft.url),
        received_at=raw.received_at,
        title=_clip(title, MAX_TITLE_CHARS),
        published_at=draft.published_at,
        dateline=draft.dateline,
        author=draft.author,
        canonical_url=draft.url,
        lang=detect_language(text),
        text=text,
        text_sha256=hashlib.sha256(fingerprint(text).encode()).hexdigest(),
        word_count=words,
        stripped=draft.stripped,
    )
    if isinstance(raw, RawArticleV2):
        return with_item_fields(article, raw)
    return article

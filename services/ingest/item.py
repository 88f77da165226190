"""Carrying a wire item's metadata from ``raw.v2`` onto ``article.v2``, unchanged.

Ingest interprets none of it (versions, kills and embargoes are decided later, from these
fields); it only fills two article fields the provider knows better than any guess from the
text: the language (a provider's ``language`` tag beats detection on a short item) and the
author (the byline).
"""

from __future__ import annotations

from wiredesk.messages import Article, ArticleV2, ItemFields, RawArticle, RawArticleV2

__all__ = ["ITEM_FIELDS", "is_fragment", "primary_language", "with_item_fields"]

ITEM_FIELDS = tuple(ItemFields.model_fields)


def primary_language(tag: str | None) -> str | None:
    """``nb-NO`` -> ``nb``, ``en-GB`` -> ``en``; None for a tag that is not ISO 639-1."""
    if not tag:
        return None
    primary = tag.replace("_", "-").split("-", 1)[0].strip().lower()
    return primary if len(primary) == 2 and primary.isalpha() else None


def is_fragment(raw: RawArticle) -> bool:
    """Whether the HTML body is the article itself (a wire item's or feed entry's body), not
    a web page whose article must first be found among navigation and footers."""
    return isinstance(raw, RawArticleV2) and raw.format not in (None, "html")


def with_item_fields(article: Article, raw: RawArticleV2) -> ArticleV2:
    fields = article.model_dump(exclude={"schema_version"})
    fields.update({name: getattr(raw, name) for name in ITEM_FIELDS})
    fields["lang"] = primary_language(raw.language) or article.lang
    fields["author"] = raw.byline or article.author
    # the provider's tag when it gave one, else the detected language: every item has one
    fields["language"] = raw.language or (article.lang if article.lang != "und" else None)
    return ArticleV2(**fields)

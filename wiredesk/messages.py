"""The wire contract: every message that crosses a stream, in one place.

Each model carries a ``schema`` field (``raw.v1``, ``article.v1`` ...) so a consumer in any
language can route and validate without guessing. A breaking change gets a new version string
and the old one keeps being accepted until every producer has moved (docs/messages.md).

On the stream an entry has two fields: ``schema`` (the version string, so routers need not parse
JSON) and ``data`` (the model as orjson-encoded JSON). Keeping the payload one opaque JSON
document, rather than one stream field per attribute, keeps nested values and types intact.
"""

from __future__ import annotations

import base64
import enum
import hashlib
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from wiredesk.limits import (
    Count,
    DisplayText,
    FiniteFloat,
    Identifier,
    Locator,
    SaneDatetime,
    ShortText,
    SourceName,
    Title,
    UtcDatetime,
)

__all__ = [
    "AnnotatedArticle",
    "AnnotatedArticleV2",
    "Article",
    "ArticleV2",
    "Change",
    "DeadLetter",
    "ItemFields",
    "MalformedMessage",
    "Method",
    "RawArticle",
    "RawArticleV2",
    "StoryEventKind",
    "Stripped",
    "Subject",
    "decode_entry",
    "encode_entry",
    "encode_payload",
]

DATA_FIELD = b"data"
SCHEMA_FIELD = b"schema"

M = TypeVar("M", bound="WireModel")


def utcnow() -> datetime:
    return datetime.now(UTC)


class WireModel(BaseModel):
    """Base of all stream messages: strict about unknown fields, serialized by alias."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)
    SCHEMA: ClassVar[str]

    def to_json(self) -> bytes:
        return orjson.dumps(self.model_dump(mode="json", by_alias=True))


class RawArticle(WireModel):
    """What a producer hands to the pipeline: a document as it was fetched."""

    SCHEMA: ClassVar[str] = "raw.v1"
    schema_version: Literal["raw.v1"] = Field(default="raw.v1", alias="schema")
    id: Identifier
    source: SourceName
    url: Locator = Field(description="URL or other locator of the document")
    received_at: SaneDatetime = Field(default_factory=utcnow)
    content_type: Literal["text/plain", "text/html"] = "text/plain"
    title: Title | None = None
    body: str


PubStatus = Literal["usable", "withheld", "canceled"]


class Subject(WireModel):
    """One subject the provider gave the item: a code (IPTC Media Topic ``medtop:...`` where
    the provider uses them) and/or a name."""

    SCHEMA: ClassVar[str] = "subject"
    code: str | None = Field(default=None, max_length=500, description="e.g. 'medtop:04000000'")
    name: str | None = Field(default=None, max_length=500)


class ItemFields(BaseModel):
    """What a wire provider says about an item besides its text (raw.v2 / article.v2).

    ``guid`` + ``version`` is the item's identity: the same ``guid`` arrives again when the
    provider corrects, updates or kills the story. These fields are carried unchanged from
    raw to the store; nothing in the pipeline reinterprets them yet.
    """

    guid: str | None = Field(
        default=None,
        max_length=1000,
        description="the provider's item identity, stable across versions (ninjs uri, "
        "NewsML-G2 guid, feed guid/id)",
    )
    version: str | None = Field(default=None, max_length=100, description="the item's version")
    version_created: UtcDatetime | None = Field(
        default=None, description="when this version was made"
    )
    pub_status: PubStatus = Field(default="usable", description="usable, withheld or canceled")
    embargoed: UtcDatetime | None = Field(default=None, description="not to be published before")
    urgency: int | None = Field(default=None, ge=0, le=9, description="1 most urgent .. 9 least")
    language: str | None = Field(
        default=None, max_length=35, description="the provider's language tag (BCP 47), as given"
    )
    byline: str | None = Field(default=None, max_length=2000)
    located: str | None = Field(default=None, max_length=500, description="where the story is")
    subjects: list[Subject] = Field(default_factory=list)
    provider: str | None = Field(default=None, max_length=500, description="who supplied it")
    format: str | None = Field(
        default=None,
        max_length=40,
        description="the document's format, e.g. 'ninjs-3.0', 'newsml-g2', 'rss', 'atom'",
    )


class RawArticleV2(ItemFields, RawArticle):
    """raw.v1 plus the provider's item metadata, and the original document untouched.

    ``headline`` is raw.v1's ``title`` under the name wire formats use (both spellings are
    read). ``body``/``content_type`` is what ingest normalizes (a ninjs or NewsML body as
    HTML, a feed entry's content); ``original`` keeps the document it came from as it was,
    or ``original_ref`` points at it where keeping it in every item would repeat it (one
    feed file or News Message yields several items).
    """

    SCHEMA: ClassVar[str] = "raw.v2"
    schema_version: Literal["raw.v2"] = Field(default="raw.v2", alias="schema")  # type: ignore[assignment]
    title: str | None = Field(default=None, alias="headline")
    original: str | None = Field(default=None, description="the source document, untouched")
    original_type: str | None = Field(
        default=None, max_length=200, description="media type of original, e.g. application/json"
    )
    original_ref: str | None = Field(
        default=None, max_length=2048, description="where the original is (URL, path#item)"
    )


class Stripped(WireModel):
    """One piece of the input that ingest removed from the text, and why."""

    SCHEMA: ClassVar[str] = "stripped"
    kind: ShortText = Field(description="short code of the rule that removed it, e.g. 'date-line'")
    text: DisplayText


class _ArticleFields(WireModel):
    id: Identifier
    source: SourceName
    url: Locator
    received_at: SaneDatetime
    title: Title
    published_at: SaneDatetime | None = None
    dateline: ShortText | None = Field(default=None, description="place line such as 'TARTOUS'")
    author: ShortText | None = Field(default=None, description="byline from the page's metadata")
    canonical_url: Locator | None = Field(default=None, description="the page's canonical URL")
    lang: Annotated[str, Field(min_length=1, max_length=16)] = Field(
        description="ISO 639-1 code, 'und' when undetermined"
    )
    text: Annotated[DisplayText, Field(min_length=1)] = Field(
        description="clean body, paragraphs separated by a blank line"
    )
    text_sha256: Annotated[str, Field(pattern="^[0-9a-f]{64}$")] = Field(
        description="sha256 of the fingerprint form of the text"
    )
    word_count: Count
    stripped: list[Stripped] = Field(default_factory=list)


class Article(_ArticleFields):
    """An article after ingest: clean text and metadata, not yet compared with others."""

    SCHEMA: ClassVar[str] = "article.v1"
    schema_version: Literal["article.v1"] = Field(default="article.v1", alias="schema")


class ArticleV2(ItemFields, Article):
    """article.v1 plus the provider's item metadata (see :class:`RawArticleV2`)."""

    SCHEMA: ClassVar[str] = "article.v2"
    schema_version: Literal["article.v2"] = Field(default="article.v2", alias="schema")  # type: ignore[assignment]


class Method(enum.StrEnum):
    """Which dedupe stage decided the verdict."""

    NEW = "new"
    EXACT = "exact"
    NEAR = "near"
    SEMANTIC = "semantic"


class AnnotatedArticle(_ArticleFields):
    """An article with its dedupe verdict: which story it belongs to and why."""

    SCHEMA: ClassVar[str] = "annotated.v1"
    schema_version: Literal["annotated.v1"] = Field(default="annotated.v1", alias="schema")
    story_id: Identifier
    duplicate_of: Identifier | None = Field(
        default=None, description="the already-seen article that matched, None for a new story"
    )
    method: Method
    score: FiniteFloat = Field(description="similarity to duplicate_of in [0, 1]; 1.0 for new")
    canonical_id: Identifier = Field(description="the story's current canonical article")
    evidence: dict[Annotated[str, Field(max_length=64)], FiniteFloat] = Field(
        default_factory=dict,
        max_length=32,
        description="the scores behind the verdict, e.g. {'semantic': 0.81, 'lexical': 0.34}",
    )

    @classmethod
    def from_article(
        cls,
        article: Article,
        *,
        story_id: str,
        duplicate_of: str | None,
        method: Method,
        score: float,
        canonical_id: str,
        evidence: dict[str, float] | None = None,
    ) -> AnnotatedArticle:
        fields = article.model_dump(exclude={"schema_version"})
        if isinstance(article, ArticleV2) and cls is AnnotatedArticle:
            cls = AnnotatedArticleV2  # noqa: PLW0642 - a v2 article stays v2
        return cls(
            **fields,
            story_id=story_id,
            duplicate_of=duplicate_of,
            method=method,
            score=score,
            canonical_id=canonical_id,
            evidence=evidence or {},
        )


Change = Literal["added", "updated", "killed", "withheld"]
"""What an item did to its story: joined it (a new item or copy), replaced its own earlier
version, was withdrawn (``pub_status`` canceled) or hidden (withheld)."""

StoryEventKind = Literal["created", "updated", "killed"]


class AnnotatedArticleV2(ItemFields, AnnotatedArticle):
    """annotated.v1 plus the provider's item metadata (see :class:`RawArticleV2`) and the
    item's lifecycle: which change it made to its story and the story's revision after it.

    An item keeps its identity across versions by ``source`` + ``guid``; each version is its own
    article ``id``. ``supersedes`` names the version this one replaced. The ``story_*`` fields
    repeat the story event (``story.v1``, :mod:`wiredesk.story_events`) this entry caused, so a
    consumer of this stream alone (the store) can keep a story's revision history.
    """

    SCHEMA: ClassVar[str] = "annotated.v2"
    schema_version: Literal["annotated.v2"] = Field(default="annotated.v2", alias="schema")  # type: ignore[assignment]
    change: Change = Field(default="added", description="added, updated, killed or withheld")
    supersedes: Identifier | None = Field(
        default=None, description="article id of the item's version this one replaces"
    )
    story_event: StoryEventKind | None = Field(
        default=None, description="the story event this entry caused: created, updated, killed"
    )
    story_revision: int | None = Field(
        default=None, ge=1, description="the story's revision after this entry (story.v1)"
    )
    story_members: int | None = Field(
        default=None, ge=0, description="live members of the story after this entry"
    )


class DeadLetter(WireModel):
    """A message a stage gave up on, with the untouched original so it can be replayed."""

    SCHEMA: ClassVar[str] = "deadletter.v1"
    schema_version: Literal["deadletter.v1"] = Field(default="deadletter.v1", alias="schema")
    stage: str
    reason: str = Field(description="short machine-readable code, e.g. 'invalid-json'")
    error: str
    attempts: int
    source_stream: str
    source_id: str
    failed_at: UtcDatetime = Field(default_factory=utcnow)
    payload: str = Field(description="the original entry's data field")
    payload_encoding: Literal["utf-8", "base64"] = "utf-8"
    truncated: bool = Field(
        default=False,
        description="payload holds only the first bytes of the original (too large to keep)",
    )
    payload_size: int | None = Field(default=None, description="the original's size in bytes")
    payload_sha256: str | None = Field(default=None, description="sha256 of the whole original")

    @classmethod
    def wrap(
        cls,
        original: bytes,
        *,
        stage: str,
        reason: str,
        error: str,
        attempts: int,
        source_stream: str,
        source_id: str,
        max_payload_bytes: int | None = None,
    ) -> DeadLetter:
        """The letter for ``original``; past ``max_payload_bytes`` only its head is kept (with
        the whole size and hash, so the producer can find the original), which bounds what a
        producer can make the dead-letter stream hold."""
        truncated = max_payload_bytes is not None and len(original) > max_payload_bytes
        kept = original[:max_payload_bytes] if truncated else original
        encoding: Literal["utf-8", "base64"] = "utf-8"
        try:
            payload = kept.decode("utf-8")
        except UnicodeDecodeError:
            payload, encoding = base64.b64encode(kept).decode("ascii"), "base64"
        return cls(
            stage=stage,
            reason=reason,
            error=error[:2000],
            attempts=attempts,
            source_stream=source_stream,
            source_id=source_id,
            payload=payload,
            payload_encoding=encoding,
            truncated=truncated,
            payload_size=len(original),
            payload_sha256=hashlib.sha256(original).hexdigest(),
        )

    def original_bytes(self) -> bytes:
        if self.payload_encoding == "base64":
            return base64.b64decode(self.payload)
        return self.payload.encode("utf-8")


class MalformedMessage(ValueError):
    """A stream entry that can never be processed: it goes to the dead-letter stream at once."""

    def __init__(self, reason: str, error: str) -> None:
        super().__init__(f"{reason}: {error}")
        self.reason = reason
        self.error = error


def encode_entry(message: WireModel) -> dict[bytes, bytes]:
    """Stream fields for one message."""
    return {SCHEMA_FIELD: message.SCHEMA.encode(), DATA_FIELD: message.to_json()}


def encode_payload(data: bytes) -> dict[bytes, bytes]:
    """Stream fields for a message already serialized (:meth:`WireModel.to_json`), when only
    its bytes travelled this far (dedupe's decided outputs, its partitioned outbox): the label
    is the payload's own ``schema``, which every wire model writes and equals its ``SCHEMA``,
    so the entry is the one :func:`encode_entry` would give for the message."""
    document: Any = orjson.loads(data)
    return {SCHEMA_FIELD: str(document["schema"]).encode(), DATA_FIELD: data}


def entry_data(fields: dict[bytes, bytes]) -> bytes:
    """The raw JSON payload of an entry, for dead letters that must keep it untouched."""
    return fields.get(DATA_FIELD, b"")


def decode_entry(fields: dict[bytes, bytes], model: type[M], *, max_bytes: int) -> M:
    """Parse and validate one stream entry, turning every failure into a reason code."""
    data = fields.get(DATA_FIELD)
    if data is None:
        raise MalformedMessage("missing-data", "entry has no 'data' field")
    accepted = (model.SCHEMA, *(newer.SCHEMA for newer in NEWER_VERSIONS.get(model, ())))
    check_schema_label(fields, accepted)
    if len(data) > max_bytes:
        raise MalformedMessage("too-large", f"{len(data)} bytes > limit of {max_bytes}")
    try:
        document: Any = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        reason = "undecodable" if _is_not_utf8(data) else "invalid-json"
        raise MalformedMessage(reason, str(exc)) from exc
    model = _version_of(model, fields.get(SCHEMA_FIELD), document)
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        raise MalformedMessage("schema-violation", _short_errors(exc)) from exc


def check_schema_label(fields: dict[bytes, bytes], accepted: tuple[str, ...]) -> None:
    """Refuse an entry whose ``schema`` field names another message (raw data labelled
    ``article.v1`` must not be processed as what it claims to be, nor what it is). An entry
    without the field is accepted: the field is a routing hint, and the JSON's own ``schema``
    is validated by the model."""
    label = fields.get(SCHEMA_FIELD)
    if label is None or label.decode("utf-8", "replace") in accepted:
        return
    shown = label[:64].decode("utf-8", "backslashreplace")
    raise MalformedMessage(
        "schema-mismatch", f"entry field schema={shown!r}, expected {' or '.join(accepted)}"
    )


def _version_of(model: type[M], schema: bytes | None, document: Any) -> type[M]:
    """The model for the version the entry declares: a reader of ``raw.v1`` also reads
    ``raw.v2`` (its subclass), so every consumer accepts both until producers have moved."""
    declared = schema.decode("utf-8", "replace") if schema else None
    if isinstance(document, dict) and isinstance(document.get("schema"), str):
        declared = document["schema"]  # the payload's own version is authoritative
    for newer in NEWER_VERSIONS.get(model, ()):
        if declared == newer.SCHEMA:
            return newer  # type: ignore[return-value]
    return model


def _is_not_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _short_errors(exc: ValidationError) -> str:
    parts = [
        f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}"
        for err in exc.errors()[:5]
    ]
    return "; ".join(parts)


ALL_MODELS: tuple[type[WireModel], ...] = (RawArticle, Article, AnnotatedArticle, DeadLetter)
V2_MODELS: tuple[type[WireModel], ...] = (RawArticleV2, ArticleV2, AnnotatedArticleV2)
ALL_MODELS = ALL_MODELS + V2_MODELS

NEWER_VERSIONS: dict[type[WireModel], tuple[type[WireModel], ...]] = {
    RawArticle: (RawArticleV2,),
    Article: (ArticleV2,),
    AnnotatedArticle: (AnnotatedArticleV2,),
}
"""Each readable model and the later versions a reader of it also accepts (subclasses)."""

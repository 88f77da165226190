"""The table of hostile inputs: what a broken or malicious producer can put on each stream, and
what the pipeline must make of it.

Each :class:`Case` is one stream entry (its raw fields, bytes as they reach Redis) and the
expected outcome: a dead letter with a given reason, an article stored (with a check on what was
stored), or dropped as a replay. The suite (``test_hostile.py``) sends every case with a valid
probe article right behind it in the same pipeline, so they share a batch, and measures how long
the probe waited. ``python -m tests.hostile.report`` prints the table.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from services.store.models import StoredArticle
from wiredesk.messages import AnnotatedArticle, Article, Method, RawArticle

MAX_MESSAGE_BYTES = 300_000
MAX_BODY_CHARS = 100_000

SENTENCE = (
    "council members voted on the harbour budget after a long debate about ferries"
    " schools roads and the new library which opens next spring according to the mayor"
)
WORDS = SENTENCE.split(" ")

Check = Callable[[StoredArticle, str], bool]


@dataclass(frozen=True)
class Case:
    name: str
    stream: str  # "raw", "normalized" or "annotated"
    fields: dict[bytes, bytes]
    expect: str  # "dlq", "stored" or "dropped"
    reason: str = ""  # the dead letter's reason
    article_id: str = ""  # the id to look for when stored
    check: Check | None = None
    note: str = ""
    tags: tuple[str, ...] = field(default=())


def body(seed: str, words: int = 40) -> str:
    """A plausible, unique article body (seed words make each one its own story)."""
    out = [f"{seed}{i}" if i % 7 == 0 else WORDS[i % len(WORDS)] for i in range(words)]
    return ". ".join(" ".join(out[i : i + 10]).capitalize() for i in range(0, words, 10)) + "."


def raw_doc(article_id: str, **changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "schema": "raw.v1",
        "id": article_id,
        "source": "hostile",
        "url": f"https://example.com/{article_id}",
        "received_at": datetime.now(UTC).isoformat(),
        "content_type": "text/plain",
        "title": f"Headline {article_id}",
        "body": body(article_id.replace("-", "")),
    }
    doc.update(changes)
    return {k: v for k, v in doc.items() if v is not _DROP}


_DROP = object()


def article(article_id: str) -> Article:
    raw = RawArticle.model_validate(raw_doc(article_id))
    from services.ingest.normalize import normalize

    return normalize(raw)


def annotated(article_id: str) -> AnnotatedArticle:
    return AnnotatedArticle.from_article(
        article(article_id),
        story_id=article_id,
        duplicate_of=None,
        method=Method.NEW,
        score=1.0,
        canonical_id=article_id,
    )


def entry(schema: str | bytes | None, data: bytes | None) -> dict[bytes, bytes]:
    fields: dict[bytes, bytes] = {}
    if schema is not None:
        fields[b"schema"] = schema if isinstance(schema, bytes) else schema.encode()
    if data is not None:
        fields[b"data"] = data
    return fields


def doc_for(stream: str, article_id: str) -> dict[str, Any]:
    if stream == "raw":
        return raw_doc(article_id)
    model = article(article_id) if stream == "normalized" else annotated(article_id)
    return model.model_dump(mode="json", by_alias=True)


SCHEMA_OF = {"raw": "raw.v1", "normalized": "article.v1", "annotated": "annotated.v1"}


def with_changes(stream: str, article_id: str, **changes: Any) -> dict[bytes, bytes]:
    doc = doc_for(stream, article_id)
    for key, value in changes.items():
        if value is _DROP:
            doc.pop(key, None)
        else:
            doc[key] = value
    return entry(SCHEMA_OF[stream], orjson.dumps(doc))


def _title_is(expected: str) -> Check:
    return lambda stored, _text: stored.title == expected


def _text_contains(fragment: str) -> Check:
    return lambda _stored, text: fragment in text


def _no_escape(stored: StoredArticle, text: str) -> bool:
    return "\x1b" not in stored.title and "\x1b" not in text and "\x07" not in stored.title


def _generic(stream: str) -> list[Case]:
    """Byte- and JSON-level garbage, the same for every stream."""
    s, schema = stream, SCHEMA_OF[stream]
    good = orjson.dumps(doc_for(stream, f"{s}-generic"))
    other = {"raw": "article.v1", "normalized": "raw.v1", "annotated": "article.v1"}[stream]
    return [
        Case(
            f"{s}: invalid UTF-8 in data", s, entry(schema, b'{"id":"\xff"}'), "dlq", "undecodable"
        ),
        Case(
            f"{s}: invalid UTF-8 inside a valid document",
            s,
            entry(schema, good.replace(b"Headline", b"Head\xc3\x28line")),
            "dlq",
            "undecodable",
        ),
        Case(
            f"{s}: truncated JSON", s, entry(schema, good[: len(good) // 2]), "dlq", "invalid-json"
        ),
        Case(f"{s}: empty data", s, entry(schema, b""), "dlq", "invalid-json"),
        Case(f"{s}: no data field", s, entry(schema, None), "dlq", "missing-data"),
        Case(f"{s}: only a stray field", s, {b"foo": b"bar"}, "dlq", "missing-data"),
        Case(f"{s}: JSON array", s, entry(schema, b"[1,2,3]"), "dlq", "schema-violation"),
        Case(f"{s}: JSON null", s, entry(schema, b"null"), "dlq", "schema-violation"),
        Case(f"{s}: JSON string", s, entry(schema, b'"hello"'), "dlq", "schema-violation"),
        Case(f"{s}: JSON number", s, entry(schema, b"42"), "dlq", "schema-violation"),
        Case(f"{s}: NaN literal", s, entry(schema, b'{"score": NaN}'), "dlq", "invalid-json"),
        Case(
            f"{s}: BOM before JSON", s, entry(schema, b"\xef\xbb\xbf" + good), "dlq", "invalid-json"
        ),
        Case(
            f"{s}: nested 100k deep",
            s,
            entry(schema, b"[" * 100_000 + b"]" * 100_000),
            "dlq",
            "invalid-json",
        ),
        Case(
            f"{s}: lone surrogate escape",
            s,
            entry(schema, good.replace(b"Headline", b"Head\\ud800line")),
            "dlq",
            "invalid-json",
        ),
        Case(
            f"{s}: too large",
            s,
            entry(schema, b'{"x":"' + b"a" * (MAX_MESSAGE_BYTES + 10) + b'"}'),
            "dlq",
            "too-large",
        ),
        Case(
            f"{s}: entry labelled {other}",
            s,
            entry(other, good),
            "dlq",
            "schema-mismatch",
        ),
        Case(f"{s}: label not UTF-8", s, entry(b"\xff\xfe", good), "dlq", "schema-mismatch"),
        Case(
            f"{s}: JSON schema says v9",
            s,
            with_changes(s, f"{s}-v9", schema=schema.replace("v1", "v9")),
            "dlq",
            "schema-violation",
        ),
        Case(
            f"{s}: unknown field",
            s,
            with_changes(s, f"{s}-x", extra="x"),
            "dlq",
            "schema-violation",
        ),
        Case(f"{s}: missing id", s, with_changes(s, f"{s}-m", id=_DROP), "dlq", "schema-violation"),
        Case(
            f"{s}: id is a number", s, with_changes(s, f"{s}-n", id=42), "dlq", "schema-violation"
        ),
        Case(f"{s}: empty id", s, with_changes(s, f"{s}-e", id=""), "dlq", "schema-violation"),
        Case(
            f"{s}: id of 100 KB",
            s,
            with_changes(s, f"{s}-h", id="i" * 100_000),
            "dlq",
            "schema-violation",
        ),
        Case(
            f"{s}: id with escape codes",
            s,
            with_changes(s, f"{s}-c", id="bad\x1b[2Jid"),
            "dlq",
            "schema-violation",
        ),
        Case(
            f"{s}: empty source", s, with_changes(s, f"{s}-s", source=""), "dlq", "schema-violation"
        ),
        Case(
            f"{s}: source of 10 KB",
            s,
            with_changes(s, f"{s}-S", source="s" * 10_000),
            "dlq",
            "schema-violation",
        ),
        Case(
            f"{s}: url of 10 KB",
            s,
            with_changes(s, f"{s}-u", url="u" * 10_000),
            "dlq",
            "schema-violation",
        ),
        Case(
            f"{s}: title of 1.5 MB",
            s,
            with_changes(s, f"{s}-t", title="T" * 250_000),
            "dlq",
            "schema-violation",
            note="a 250 K-char title (the limit is 1,000)",
        ),
        Case(
            f"{s}: received_at not a date",
            s,
            with_changes(s, f"{s}-d", received_at="yesterday"),
            "dlq",
            "schema-violation",
        ),
        Case(
            f"{s}: received_at 9999 -05:00 (overflows to UTC)",
            s,
            with_changes(s, f"{s}-o", received_at="9999-12-31T23:59:59-05:00"),
            "dlq",
            "schema-violation",
        ),
        Case(
            f"{s}: received_at 0001 +05:00 (underflows)",
            s,
            with_changes(s, f"{s}-U", received_at="0001-01-01T00:00:00+05:00"),
            "dlq",
            "schema-violation",
        ),
        Case(
            f"{s}: received_at a year ahead",
            s,
            with_changes(
                s, f"{s}-f", received_at=(datetime.now(UTC) + timedelta(days=365)).isoformat()
            ),
            "dlq",
            "schema-violation",
        ),
        Case(
            f"{s}: received_at 1066",
            s,
            with_changes(s, f"{s}-H", received_at="1066-10-14T09:00:00Z"),
            "dlq",
            "schema-violation",
        ),
        Case(
            f"{s}: title with ANSI/OSC escapes",
            s,
            with_changes(s, f"{s}-ansi", title="\x1b]0;owned\x07\x1b[2J\x1b[31mRed\x1b[0m alert"),
            "stored",
            article_id=f"{s}-ansi",
            check=_title_is("Red alert"),
        ),
        Case(
            f"{s}: title with NUL and C1 controls",
            s,
            with_changes(s, f"{s}-ctl", title="Nul\x00 and\x9b csi\x85"),
            "stored",
            article_id=f"{s}-ctl",
            check=_title_is("Nul and csi"),
        ),
        Case(
            f"{s}: id with a slash",
            s,
            with_changes(s, f"{s}/slash/1"),
            "stored",
            article_id=f"{s}/slash/1",
        ),
        Case(
            f"{s}: id in Unicode",
            s,
            with_changes(s, f"{s}-記事-مقالة"),
            "stored",
            article_id=f"{s}-記事-مقالة",
        ),
        Case(
            f"{s}: duplicate JSON keys (last wins)",
            s,
            entry(schema, good[:-1] + b',"title":"Second title"}'),
            "stored",
            article_id=f"{s}-generic",
            check=_title_is("Second title"),
        ),
    ]


def _raw_only() -> list[Case]:
    s = "raw"

    def raw(article_id: str, **changes: Any) -> dict[bytes, bytes]:
        return entry("raw.v1", orjson.dumps(raw_doc(article_id, **changes)))

    big_page = (
        "<html><head><title>Harbour budget</title></head><body><nav>Home | News</nav><article>"
        + "".join(f"<p>{body(f'page{i}', 60)}</p>" for i in range(120))
        + "</article><footer>Copyright</footer></body></html>"
    )
    cjk = "\n\n".join(
        "。".join(
            f"市议会周二就港口预算进行了投票第{i}{j}项议程包括渡轮学校道路和新图书馆"
            for j in range(3)
        )
        + "。"
        for i in range(6)
    )
    arabic = " ".join(
        f"صوت أعضاء المجلس على ميزانية الميناء بعد نقاش طويل حول العبارات والمدارس رقم {i}."
        for i in range(6)
    )
    hebrew = " ".join(
        f"חברי המועצה הצביעו על תקציב הנמל לאחר דיון ארוך על מעבורות ובתי ספר מספר {i}."
        for i in range(6)
    )
    nested = "<div>" * 5000 + body("nested", 40) + "</div>" * 5000
    return [
        Case("raw: missing body", s, raw("raw-nb", body=_DROP), "dlq", "schema-violation"),
        Case("raw: missing source", s, raw("raw-ns", source=_DROP), "dlq", "schema-violation"),
        Case("raw: body is a list", s, raw("raw-bl", body=["a", "b"]), "dlq", "schema-violation"),
        Case(
            "raw: title is an object", s, raw("raw-to", title={"a": 1}), "dlq", "schema-violation"
        ),
        Case(
            "raw: content_type application/pdf",
            s,
            raw("raw-pdf", content_type="application/pdf"),
            "dlq",
            "schema-violation",
        ),
        Case("raw: empty body", s, raw("raw-eb", body=""), "dlq", "empty"),
        Case("raw: whitespace body", s, raw("raw-ws", body=" \n\t \n"), "dlq", "empty"),
        Case(
            "raw: control-character body", s, raw("raw-cc", body="\x00\x01\x1b[2J"), "dlq", "empty"
        ),
        Case("raw: too short", s, raw("raw-ts", body="Only five words here."), "dlq", "too-short"),
        Case(
            "raw: body past max_body_chars",
            s,
            raw("raw-bb", body="word " * (MAX_BODY_CHARS // 5 + 100)),
            "dlq",
            "too-large",
        ),
        Case(
            "raw: HTML with only script",
            s,
            raw("raw-js", content_type="text/html", body="<script>alert(1)</script>"),
            "dlq",
            "empty",
        ),
        Case(
            "raw: HTML nested 5000 deep",
            s,
            raw("raw-nest", content_type="text/html", body=nested),
            "dlq",
            "empty",
            note="the HTML parser gives up past its depth limit: refused, not a crash",
        ),
        Case(
            "raw: large real-looking page",
            s,
            raw("raw-page", content_type="text/html", body=big_page, title=None),
            "stored",
            article_id="raw-page",
            check=_text_contains("page1197"),
        ),
        Case(
            "raw: CJK text",
            s,
            raw("raw-cjk", body=cjk, title="港口预算"),
            "stored",
            article_id="raw-cjk",
            check=_text_contains("市议会"),
        ),
        Case(
            "raw: Arabic (RTL) text",
            s,
            raw("raw-ar", body=arabic, title="ميزانية الميناء"),
            "stored",
            article_id="raw-ar",
            check=_title_is("ميزانية الميناء"),
        ),
        Case(
            "raw: Hebrew (RTL) text",
            s,
            raw("raw-he", body=hebrew, title=None),
            "stored",
            article_id="raw-he",
            check=_text_contains("המועצה"),
        ),
        Case(
            "raw: emoji and astral characters",
            s,
            raw("raw-emoji", title="Budget 🚢📚 vote", body=body("emoji") + " 🚢 𝔘𝔫𝔦𝔠𝔬𝔡𝔢"),
            "stored",
            article_id="raw-emoji",
            check=_title_is("Budget 🚢📚 vote"),
        ),
        Case(
            "raw: ANSI escapes in the body",
            s,
            raw("raw-abody", body="\x1b[2J\x1b]0;x\x07" + body("abody")),
            "stored",
            article_id="raw-abody",
            check=_no_escape,
        ),
        Case("raw: null title", s, raw("raw-nt", title=None), "stored", article_id="raw-nt"),
        Case(
            "raw: published date 9999 in the page",
            s,
            raw(
                "raw-pd",
                content_type="text/html",
                body='<html><head><meta property="article:published_time"'
                ' content="9999-12-31T23:59:59-05:00"></head><body><p>'
                + body("pd")
                + "</p></body></html>",
            ),
            "stored",
            article_id="raw-pd",
            check=lambda stored, _t: stored.published_at is None,
        ),
    ]


def _normalized_only() -> list[Case]:
    s = "normalized"
    return [
        Case(
            "normalized: text empty", s, with_changes(s, "n-te", text=""), "dlq", "schema-violation"
        ),
        Case(
            "normalized: word_count -5",
            s,
            with_changes(s, "n-wc", word_count=-5),
            "dlq",
            "schema-violation",
        ),
        Case(
            "normalized: word_count 2**63",
            s,
            with_changes(s, "n-wb", word_count=2**63),
            "dlq",
            "schema-violation",
        ),
        Case(
            "normalized: word_count 1.5",
            s,
            with_changes(s, "n-wf", word_count=1.5),
            "dlq",
            "schema-violation",
        ),
        Case(
            "normalized: text_sha256 not a hash",
            s,
            with_changes(s, "n-sha", text_sha256="x"),
            "dlq",
            "schema-violation",
        ),
        Case(
            "normalized: lang of 1 KB",
            s,
            with_changes(s, "n-lang", lang="l" * 1000),
            "dlq",
            "schema-violation",
        ),
        Case(
            "normalized: published_at 9999 -05:00",
            s,
            with_changes(s, "n-pub", published_at="9999-12-31T23:59:59-05:00"),
            "dlq",
            "schema-violation",
        ),
        Case(
            "normalized: stripped is a string",
            s,
            with_changes(s, "n-str", stripped="x"),
            "dlq",
            "schema-violation",
        ),
        Case(
            "normalized: author of 10 KB",
            s,
            with_changes(s, "n-au", author="a" * 10_000),
            "dlq",
            "schema-violation",
        ),
    ]


def _annotated_only() -> list[Case]:
    s = "annotated"
    return [
        Case(
            "annotated: score NaN",
            s,
            with_changes(s, "a-nan", score="NaN"),
            "dlq",
            "schema-violation",
        ),
        Case(
            "annotated: score Infinity",
            s,
            with_changes(s, "a-inf", score="Infinity"),
            "dlq",
            "schema-violation",
        ),
        Case(
            "annotated: score 1e400",
            s,
            entry(
                "annotated.v1",
                orjson.dumps(doc_for(s, "a-big")).replace(b'"score":1.0', b'"score":1e400'),
            ),
            "dlq",
            "invalid-json",
        ),
        Case(
            "annotated: evidence NaN",
            s,
            with_changes(s, "a-ev", evidence={"lexical": "nan"}),
            "dlq",
            "schema-violation",
        ),
        Case(
            "annotated: evidence with 10k keys",
            s,
            with_changes(s, "a-evk", evidence={f"k{i}": 0.5 for i in range(10_000)}),
            "dlq",
            "schema-violation",
        ),
        Case(
            "annotated: story_id empty",
            s,
            with_changes(s, "a-sid", story_id=""),
            "dlq",
            "schema-violation",
        ),
        Case(
            "annotated: story_id of 100 KB",
            s,
            with_changes(s, "a-sidh", story_id="s" * 100_000),
            "dlq",
            "schema-violation",
        ),
        Case(
            "annotated: canonical_id with escapes",
            s,
            with_changes(s, "a-can", canonical_id="\x1b[2J"),
            "dlq",
            "schema-violation",
        ),
        Case(
            "annotated: method bogus",
            s,
            with_changes(s, "a-meth", method="bogus"),
            "dlq",
            "schema-violation",
        ),
        Case(
            "annotated: word_count 2**63 (used to retry OverflowError)",
            s,
            with_changes(s, "a-wc", word_count=2**63),
            "dlq",
            "schema-violation",
        ),
        Case(
            "annotated: duplicate_of missing story",
            s,
            with_changes(s, "a-dup", duplicate_of="nowhere", method="near", score=0.9),
            "stored",
            article_id="a-dup",
            note="a verdict pointing at an unknown article is stored as given",
        ),
    ]


def all_cases() -> list[Case]:
    cases: list[Case] = []
    for stream in ("raw", "normalized", "annotated"):
        cases.extend(_generic(stream))
    cases += _raw_only() + _normalized_only() + _annotated_only()
    names = [c.name for c in cases]
    assert len(names) == len(set(names)), "case names must be unique"
    return cases


def probe_fields(stream: str, article_id: str) -> dict[bytes, bytes]:
    """A valid entry for ``stream`` (the article behind the bad one)."""
    return entry(SCHEMA_OF[stream], orjson.dumps(doc_for(stream, article_id)))


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()

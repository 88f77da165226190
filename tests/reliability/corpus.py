"""A deterministic replay corpus for the crash tests: real articles and syndicated variants.

Bases are the dev set's advanced-level texts (one level per story: the levels of one story are
rewrites of each other and sit right at the near-duplicate threshold, which would make the story
partition depend on arrival order) plus the seeds, with any base too similar to an earlier one
left out. Each base gets variants the way wire copies differ: a dropped sentence, two paragraphs
swapped, chrome lines (bylines, "Advertisement", share prompts) added. Variants of one base stay
far above the near-duplicate threshold and bases stay far below it, so the right partition does
not depend on the order of arrival, and a crash run can be compared with an undisturbed one.
A few articles are sent twice with the same id, as a producer retrying would.
"""

from __future__ import annotations

import random
from functools import cache
from pathlib import Path

import orjson

from services.dedupe.minhash import shingles
from wiredesk.app.files import read_articles, stable_id
from wiredesk.messages import RawArticle

ROOT = Path(__file__).resolve().parents[2]
DEV_SET = ROOT / "data" / "eval" / "onestopenglish-dev.jsonl"  # shipped: data/eval/README.md
SEEDS = ROOT / "seeds"

CHROME_TOP = ("By Staff Reporter", "Updated 10:42 GMT", "LONDON (Wire) -", "Photo: Reuters")
CHROME_BOTTOM = (
    "Advertisement",
    "Share this article",
    "Follow us on Twitter",
    "Read more: world news",
    "© 2024 Wire Services. All rights reserved.",
)
SOURCES = ("wire-a", "wire-b", "daily-c", "portal-d", "herald-e")


def base_texts(max_similarity: float = 0.2) -> list[tuple[str, str]]:
    """(name, text) of the bases: advanced dev texts and seeds, mutually distinct."""
    candidates: list[tuple[str, str]] = []
    for line in DEV_SET.read_bytes().splitlines():  # missing data fails here, never skips
        doc = orjson.loads(line)
        if doc.get("level") == "advanced":
            candidates.append((str(doc["id"]), str(doc["text"])))
    candidates.extend((a.url, a.body) for a in read_articles([SEEDS], source="seeds"))
    chosen: list[tuple[str, str, set[str]]] = []
    for name, text in candidates:
        sh = shingles(text)
        if len(sh) < 60:
            continue
        if all(len(sh & other) / len(sh | other) < max_similarity for _, _, other in chosen):
            chosen.append((name, text, sh))
    return [(name, text) for name, text, _ in chosen]


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in text.replace("\r", "").split("\n") if p.strip()]


def _variant(paragraphs: list[str], rng: random.Random) -> list[str]:
    out = list(paragraphs)
    if rng.random() < 0.5 and len(out) > 3:  # drop one sentence of a long paragraph
        i = rng.randrange(len(out))
        sentences = out[i].split(". ")
        if len(sentences) > 2:
            del sentences[rng.randrange(len(sentences))]
            out[i] = ". ".join(sentences)
    if rng.random() < 0.5 and len(out) > 3:  # swap two adjacent body paragraphs
        i = rng.randrange(1, len(out) - 1)
        out[i], out[i + 1] = out[i + 1], out[i]
    if rng.random() < 0.6:
        out.insert(0, rng.choice(CHROME_TOP))
    if rng.random() < 0.6:
        out.extend(rng.sample(CHROME_BOTTOM, rng.randint(1, 2)))
    return out


def corpus(
    total: int = 2000, *, seed: int = 20240601, resend_share: float = 0.03
) -> list[RawArticle]:
    """``total`` raw articles (resends included) in a deterministic, shuffled publish order."""
    return list(_corpus(total, seed, resend_share))


@cache
def _corpus(total: int, seed: int, resend_share: float) -> tuple[RawArticle, ...]:
    rng = random.Random(seed)
    bases = base_texts()
    resends = int(total * resend_share)
    articles: list[RawArticle] = []
    k = 0
    while len(articles) < total - resends:
        name, text = bases[k % len(bases)]
        paragraphs = _paragraphs(text)
        body = "\n\n".join(paragraphs if k < len(bases) else _variant(paragraphs, rng))
        source = SOURCES[k % len(SOURCES)]
        url = f"https://{source}.example/{name.replace(' ', '-')}/{k}"
        articles.append(
            RawArticle(id=stable_id(source, url, body), source=source, url=url, body=body)
        )
        k += 1
    articles.extend(rng.sample(articles, resends))  # the same id again: a producer's retry
    rng.shuffle(articles)
    return tuple(articles)

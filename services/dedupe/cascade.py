"""The dedupe decision: cheapest evidence first, each verdict explained. Pure.

1. exact: the fingerprint hash (normalized text) was seen in the window;
2. near: MinHash LSH finds a candidate whose estimated Jaccard over word 5-shingles reaches
   ``near_threshold`` (copies with different chrome, small edits);
3. otherwise the article starts a new story.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.dedupe.index import Record, StoryIndex
from services.dedupe.minhash import Signature
from wiredesk.messages import Method


@dataclass(frozen=True, slots=True)
class Verdict:
    story_id: str
    method: Method
    duplicate_of: str | None
    score: float


@dataclass(frozen=True, slots=True)
class Thresholds:
    near: float = 0.5


def decide(
    *,
    article_id: str,
    text_sha256: str,
    signature: Signature,
    index: StoryIndex,
    thresholds: Thresholds,
) -> Verdict:
    same_text = index.exact(text_sha256)
    if same_text is not None:
        return _join(same_text, Method.EXACT, 1.0)
    match = index.nearest(signature)
    if match is not None and match.score >= thresholds.near:
        return _join(match.record, Method.NEAR, match.score)
    return Verdict(story_id=article_id, method=Method.NEW, duplicate_of=None, score=1.0)


def _join(record: Record, method: Method, score: float) -> Verdict:
    return Verdict(
        story_id=record.story_id, method=method, duplicate_of=record.article_id, score=score
    )

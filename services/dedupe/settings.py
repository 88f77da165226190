"""Dedupe settings: the window and the thresholds of each stage of the cascade."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from services.dedupe import features, minhash
from services.dedupe.cascade import Thresholds
from services.dedupe.embedding import Backend
from wiredesk.settings import WiredeskSettings

_T = Thresholds()
"""The cascade's own defaults: the settings' defaults are these (and the MinHash and model
constants of ``minhash.py`` and ``features.py``), declared once."""


class DedupeSettings(WiredeskSettings):
    window_s: int = Field(default=72 * 3600, ge=60, description="how long a story stays joinable")
    num_perm: int = Field(
        default=minhash.NUM_PERM, ge=16, le=1024, description="MinHash permutations"
    )
    lsh_bands: int = Field(default=32, ge=1, description="LSH bands; num_perm must divide by it")
    shingle_size: int = Field(
        default=minhash.SHINGLE_SIZE, ge=1, le=12, description="words per shingle"
    )
    minhash_seed: int = Field(default=minhash.SEED, description="must be equal in every replica")
    near_threshold: float = Field(
        default=_T.near, gt=0, le=1, description="estimated Jaccard that makes a near-duplicate"
    )
    semantic: bool = Field(
        default=True,
        description="run the semantic stage (MiniLM + TF-IDF); off leaves exact + near only",
    )
    semantic_threshold: float = Field(
        default=_T.semantic,
        gt=0,
        le=1,
        description="MiniLM cosine a rewrite must reach (docs/dedupe.md)",
    )
    lexical_threshold: float = Field(
        default=_T.lexical, gt=0, le=1, description="TF-IDF cosine a rewrite must also reach"
    )
    multilingual: bool = Field(
        default=True,
        description="compare non-English articles with USE multilingual, in and across "
        "languages (docs/dedupe.md); off weights every article as English, as before",
    )
    multilingual_threshold: float = Field(
        default=_T.multilingual,
        gt=0,
        le=1,
        description="USE cosine of two articles in one non-English language, when the e5 "
        "weight is 0",
    )
    multilingual_e5_weight: float = Field(
        default=_T.monolingual_e5_weight,
        ge=0,
        le=1,
        description="weight of multilingual-e5-small's cosine, against USE's, for two articles in "
        "one non-English language (0: USE alone, e5 never loaded)",
    )
    multilingual_mixed_threshold: float = Field(
        default=_T.monolingual_mixed,
        gt=0,
        le=1,
        description="(1 - e5 weight) x USE + e5 weight x e5 cosine of two articles in one "
        "non-English language, when the e5 weight is above 0",
    )
    multilingual_lexical_threshold: float = Field(
        default=_T.multilingual_lexical,
        gt=0,
        le=1,
        description="their TF-IDF cosine (in their language) gate",
    )
    crosslingual_threshold: float = Field(
        default=_T.crosslingual,
        gt=0,
        le=2,
        description="USE cosine + weight x TF-IDF cosine of two articles in different languages",
    )
    crosslingual_lexical_weight: float = Field(
        default=_T.crosslingual_lexical_weight,
        ge=0,
        le=2,
        description="weight of shared names and numbers across languages",
    )
    crosslingual_candidates: int = Field(
        default=_T.crosslingual_candidates,
        ge=0,
        description="newest articles per other language an article is compared with (0: none)",
    )
    embed_max_tokens: int = Field(
        default=features.MAX_TOKENS,
        ge=16,
        le=256,
        description="word pieces of the opening the model reads",
    )
    embed_batch_size: int = Field(default=features.BATCH_SIZE, ge=1, le=512)
    embed_commit_budget: int = Field(
        default=16,
        ge=0,
        le=4096,
        description="most openings one commit waits to embed: a batch whose articles need more "
        "is decided and committed in consecutive prefixes, so its first articles do not wait "
        "for the model work of its last (an article's own needs are never split; 0: no bound)",
    )
    embed_backend: Backend = Field(
        default="onnx",
        description="who runs the model: onnx (ONNX Runtime, ~3x faster) or numpy (reference); "
        "equal vectors to float32 rounding, so replicas may differ",
    )
    embed_threads: int = Field(
        default=features.THREADS, ge=0, le=64, description="ONNX Runtime threads (0: one per core)"
    )
    model_graph: Path | None = Field(
        default=None,
        description="the onnx backend's prebuilt graph (python -m services.dedupe.graph_build); "
        "default <sys.prefix>/share/wiredesk/minilm-l6-v2.onnx",
    )
    max_commit_retries: int = Field(default=100, ge=1)

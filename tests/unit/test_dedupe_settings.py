"""Dedupe's settings default to the domain's own defaults, so they are declared once.

The cascade's thresholds (``Thresholds``), the featurizer's model options and the MinHash family
each have defaults where they are defined; the settings must not drift from them (a service
started without ``WIREDESK_*`` and a ``Thresholds()`` built in a test or tool decide alike).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import fields
from typing import Any

import pytest

from services.dedupe.cascade import Thresholds
from services.dedupe.features import Featurizer
from services.dedupe.minhash import MinHasher
from services.dedupe.settings import DedupeSettings

THRESHOLDS = {
    "near": "near_threshold",
    "semantic": "semantic_threshold",
    "lexical": "lexical_threshold",
    "multilingual": "multilingual_threshold",
    "multilingual_lexical": "multilingual_lexical_threshold",
    "monolingual_e5_weight": "multilingual_e5_weight",
    "monolingual_mixed": "multilingual_mixed_threshold",
    "crosslingual": "crosslingual_threshold",
    "crosslingual_lexical_weight": "crosslingual_lexical_weight",
    "crosslingual_candidates": "crosslingual_candidates",
}
"""``Thresholds`` field -> the setting that configures it (``DedupeStage`` maps them so)."""

PARAMETERS: list[tuple[Callable[..., Any], str, str]] = [
    (Featurizer.__init__, "max_tokens", "embed_max_tokens"),
    (Featurizer.__init__, "batch_size", "embed_batch_size"),
    (Featurizer.__init__, "threads", "embed_threads"),
    (MinHasher.__init__, "num_perm", "num_perm"),
    (MinHasher.__init__, "seed", "minhash_seed"),
    (MinHasher.__init__, "shingle_size", "shingle_size"),
]
"""Constructor parameter -> the setting passed for it."""


def default_of(setting: str) -> Any:
    # the declared default, not DedupeSettings(): that would read WIREDESK_* from the environment
    return DedupeSettings.model_fields[setting].default


@pytest.mark.parametrize(("field", "setting"), THRESHOLDS.items())
def test_threshold_settings_default_to_the_cascades_thresholds(field: str, setting: str) -> None:
    assert field in {f.name for f in fields(Thresholds)}
    assert default_of(setting) == getattr(Thresholds(), field)


@pytest.mark.parametrize(("function", "parameter", "setting"), PARAMETERS)
def test_model_and_minhash_settings_default_to_the_constructors(
    function: Callable[..., Any], parameter: str, setting: str
) -> None:
    declared = inspect.signature(function).parameters[parameter].default
    assert declared is not inspect.Parameter.empty
    assert default_of(setting) == declared


def test_every_default_is_within_its_settings_bounds() -> None:
    settings = DedupeSettings.model_validate(
        {name: default_of(name) for name in [*THRESHOLDS.values(), *(p[2] for p in PARAMETERS)]}
    )
    assert settings.near_threshold == Thresholds().near

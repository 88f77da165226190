"""Pair metrics per language pair and pair class, and k-fold cross-validated decision numbers.

Why cross-validation here: a dev file of a few hundred labelled pairs (a few dozen positives
per class) rewards thresholds fitted to it; the F1 of the shipped thresholds on dev says little
about unseen pairs. ``crossval`` refits the one free parameter of each pair class's rule (a
factor ``c`` on the cascade's decision score: a pair joins when ``combined >= c``; shipped
``c = 1``) on k-1 folds and scores the held-out fold, repeated over shuffles; the mean and the
spread over folds estimate what a threshold chosen this way does on pairs it never saw.
Scores are the cascade's own pair scores (``cascade.pair_scores``), decided pair by pair.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tools.evaluation.metrics import prf, roc_auc

ENGLISH = "English"
MONOLINGUAL = "monolingual, not English"
CROSSLINGUAL = "cross-lingual"

GRID = tuple(round(0.70 + 0.02 * i, 2) for i in range(36))
"""Factors on the decision score tried by ``crossval`` (0.70 .. 1.40)."""


def pair_class(langs: str) -> str:
    a, _, b = langs.partition("-")
    if a != b:
        return CROSSLINGUAL
    return ENGLISH if a == "en" else MONOLINGUAL


@dataclass(frozen=True, slots=True)
class Scored:
    langs: str
    truth: bool
    predicted: bool
    """The pipeline's verdict: both articles in one story."""
    score: float
    """The cascade's decision score for the pair (``combined``; >= 1 joins)."""


def _f1(items: Sequence[Scored], predicted: Sequence[bool]) -> float:
    tp = sum(1 for s, p in zip(items, predicted, strict=True) if s.truth and p)
    return prf(tp, sum(predicted), sum(s.truth for s in items)).f1


def group_rows(items: Sequence[Scored]) -> list[dict[str, Any]]:
    """One row per pair class, then per language pair: counts, pipeline P/R/F1, AUC."""
    keys: dict[str, list[Scored]] = {}
    for item in items:
        keys.setdefault(pair_class(item.langs), []).append(item)
    for item in sorted(items, key=lambda s: s.langs):
        keys.setdefault(item.langs, []).append(item)
    rows = []
    for key, group in keys.items():
        tp = sum(1 for s in group if s.truth and s.predicted)
        result = prf(tp, sum(s.predicted for s in group), sum(s.truth for s in group))
        positives = sum(s.truth for s in group)
        auc = (
            round(roc_auc([s.score for s in group], [s.truth for s in group]), 3)
            if 0 < positives < len(group)
            else None
        )
        rows.append(
            {
                "pairs": key,
                "n": len(group),
                "positives": positives,
                "precision": round(result.precision, 3),
                "recall": round(result.recall, 3),
                "f1": round(result.f1, 3),
                "auc": auc,
            }
        )
    return rows


def _best_factor(items: Sequence[Scored]) -> float:
    """The grid factor with the best F1 on ``items``; ties go to the one nearest 1."""
    best = (-1.0, 0.0, 1.0)
    for c in GRID:
        f1 = _f1(items, [s.score >= c for s in items])
        key = (f1, -abs(c - 1.0), c)
        if key[:2] > best[:2]:
            best = key
    return best[2]


def crossval(
    items: Sequence[Scored], *, folds: int = 5, repeats: int = 4, seed: int = 0
) -> dict[str, Any]:
    """k-fold CV of a per-class factor on the decision score (see module doc).

    Returns mean and standard deviation over all folds of all repeats of the held-out F1,
    overall and per pair class, and the factors chosen."""
    classes = sorted({pair_class(s.langs) for s in items})
    overall: list[float] = []
    per_class: dict[str, list[float]] = {c: [] for c in classes}
    factors: dict[str, list[float]] = {c: [] for c in classes}
    for repeat in range(repeats):
        order = list(range(len(items)))
        random.Random(seed + repeat).shuffle(order)
        for fold in range(folds):
            test = [items[i] for n, i in enumerate(order) if n % folds == fold]
            train = [items[i] for n, i in enumerate(order) if n % folds != fold]
            chosen = {
                c: _best_factor([s for s in train if pair_class(s.langs) == c]) for c in classes
            }
            for c in classes:
                factors[c].append(chosen[c])
            decided = [s.score >= chosen[pair_class(s.langs)] for s in test]
            overall.append(_f1(test, decided))
            for c in classes:
                mine = [
                    (s, d) for s, d in zip(test, decided, strict=True) if pair_class(s.langs) == c
                ]
                if any(s.truth for s, _ in mine):
                    per_class[c].append(_f1([s for s, _ in mine], [d for _, d in mine]))

    def summary(values: list[float]) -> str:
        if not values:
            return "n/a"
        spread = statistics.pstdev(values) if len(values) > 1 else 0.0
        return f"{statistics.fmean(values):.3f} ± {spread:.3f}"

    return {
        "folds": f"{folds}-fold x {repeats}",
        "f1": summary(overall),
        **{f"f1 {c}": summary(v) for c, v in per_class.items()},
        **{f"factor {c}": statistics.median(v) for c, v in factors.items()},
    }

"""Clustering and pair-classification metrics. Pure, dependency-free beyond numpy.

- Pairwise precision/recall/F1 over all unordered pairs of items: a pair is positive when both
  items share a cluster (Manning, Raghavan & Schütze, *Introduction to IR*, 16.3).
- B-cubed precision/recall/F1: per-item overlap of predicted and true clusters, averaged over
  items (Bagga & Baldwin 1998; Amigó et al. 2009), less dominated by large clusters.
- Adjusted Rand index from the contingency table (Hubert & Arabie 1985): 1 for identical
  partitions, about 0 for random ones.
- ROC AUC as the probability that a random positive outscores a random negative (ties count
  half), the Mann-Whitney U statistic.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from math import comb


@dataclass(frozen=True, slots=True)
class PRF:
    precision: float
    recall: float
    f1: float


def prf(true_positive: int, predicted_positive: int, actual_positive: int) -> PRF:
    precision = true_positive / predicted_positive if predicted_positive else 1.0
    recall = true_positive / actual_positive if actual_positive else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return PRF(precision, recall, f1)


def _aligned(
    truth: Mapping[str, Hashable], predicted: Mapping[str, Hashable]
) -> tuple[list[Hashable], list[Hashable]]:
    missing = set(truth) - set(predicted)
    if missing:
        raise ValueError(f"{len(missing)} items have no predicted cluster, e.g. {min(missing)!r}")
    items = sorted(truth)
    return [truth[i] for i in items], [predicted[i] for i in items]


def pairwise(truth: Mapping[str, Hashable], predicted: Mapping[str, Hashable]) -> PRF:
    labels_true, labels_pred = _aligned(truth, predicted)
    joint = Counter(zip(labels_true, labels_pred, strict=True))
    true_pairs = sum(comb(n, 2) for n in Counter(labels_true).values())
    pred_pairs = sum(comb(n, 2) for n in Counter(labels_pred).values())
    both = sum(comb(n, 2) for n in joint.values())
    return prf(both, pred_pairs, true_pairs)


def bcubed(truth: Mapping[str, Hashable], predicted: Mapping[str, Hashable]) -> PRF:
    labels_true, labels_pred = _aligned(truth, predicted)
    joint = Counter(zip(labels_true, labels_pred, strict=True))
    size_true, size_pred = Counter(labels_true), Counter(labels_pred)
    n = len(labels_true)
    precision = (
        sum(joint[(t, p)] / size_pred[p] for t, p in zip(labels_true, labels_pred, strict=True)) / n
    )
    recall = (
        sum(joint[(t, p)] / size_true[t] for t, p in zip(labels_true, labels_pred, strict=True)) / n
    )
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return PRF(precision, recall, f1)


def adjusted_rand_index(truth: Mapping[str, Hashable], predicted: Mapping[str, Hashable]) -> float:
    labels_true, labels_pred = _aligned(truth, predicted)
    n = len(labels_true)
    joint = Counter(zip(labels_true, labels_pred, strict=True))
    index = sum(comb(v, 2) for v in joint.values())
    sum_true = sum(comb(v, 2) for v in Counter(labels_true).values())
    sum_pred = sum(comb(v, 2) for v in Counter(labels_pred).values())
    total = comb(n, 2)
    if total == 0:
        return 1.0
    expected = sum_true * sum_pred / total
    maximum = (sum_true + sum_pred) / 2
    if maximum == expected:
        return 1.0
    return (index - expected) / (maximum - expected)


def roc_auc(scores: Sequence[float], labels: Sequence[bool]) -> float:
    positives = [s for s, y in zip(scores, labels, strict=True) if y]
    negatives = [s for s, y in zip(scores, labels, strict=True) if not y]
    if not positives or not negatives:
        raise ValueError("ROC AUC needs at least one positive and one negative")
    ranked = sorted((s, y) for s, y in zip(scores, labels, strict=True))
    # average ranks with ties, then the Mann-Whitney U of the positives
    rank_sum = 0.0
    index = 0
    while index < len(ranked):
        end = index
        while end + 1 < len(ranked) and ranked[end + 1][0] == ranked[index][0]:
            end += 1
        average_rank = (index + end) / 2 + 1
        rank_sum += average_rank * sum(1 for k in range(index, end + 1) if ranked[k][1])
        index = end + 1
    n_pos, n_neg = len(positives), len(negatives)
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)

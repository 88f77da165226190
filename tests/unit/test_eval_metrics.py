"""Evaluation metrics against hand-computed values."""

from __future__ import annotations

import pytest

from tools.evaluation.metrics import adjusted_rand_index, bcubed, pairwise, roc_auc

TRUTH = {"a": 1, "b": 1, "c": 1, "d": 2, "e": 2, "f": 3}


def test_perfect_partition_scores_one_everywhere() -> None:
    predicted = {k: f"x{v}" for k, v in TRUTH.items()}  # labels differ, partition equal
    assert pairwise(TRUTH, predicted).f1 == 1.0
    assert bcubed(TRUTH, predicted).f1 == 1.0
    assert adjusted_rand_index(TRUTH, predicted) == pytest.approx(1.0)


def test_merging_two_stories_costs_precision_not_recall() -> None:
    predicted = {**TRUTH, "d": 1, "e": 1}
    scores = pairwise(TRUTH, predicted)
    # true pairs: ab ac bc de = 4; predicted pairs: C(5,2) = 10, all 4 true ones among them
    assert (scores.precision, scores.recall) == (0.4, 1.0)
    b3 = bcubed(TRUTH, predicted)
    assert b3.recall == 1.0
    assert b3.precision == pytest.approx((3 * 3 / 5 + 2 * 2 / 5 + 1) / 6)


def test_ari_matches_a_known_value() -> None:
    # sklearn.metrics.adjusted_rand_score([0,0,1,1],[0,0,1,2]) == 0.5714285714285715
    truth = {"a": 0, "b": 0, "c": 1, "d": 1}
    predicted = {"a": 0, "b": 0, "c": 1, "d": 2}
    assert adjusted_rand_index(truth, predicted) == pytest.approx(0.5714285714285715)


def test_missing_predictions_are_an_error_not_a_silent_zero() -> None:
    with pytest.raises(ValueError, match="no predicted cluster"):
        pairwise(TRUTH, {"a": 1})


def test_auc_counts_ties_as_half_and_orders_correctly() -> None:
    assert roc_auc([0.9, 0.8, 0.1, 0.2], [True, True, False, False]) == 1.0
    assert roc_auc([0.1, 0.2, 0.9, 0.8], [True, True, False, False]) == 0.0
    assert roc_auc([0.5, 0.5], [True, False]) == 0.5
    # sklearn.metrics.roc_auc_score([1,0,1,0,1],[0.8,0.3,0.4,0.5,0.9]) == 0.8333333333333334
    assert roc_auc([0.8, 0.3, 0.4, 0.5, 0.9], [True, False, True, False, True]) == pytest.approx(
        0.8333333333333334
    )

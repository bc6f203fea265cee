"""Metric definitions checked against hand-computed values (the names of docs/corpora.md)."""

import numpy as np
import pytest

from merbench.data.metrics import compute_metrics
from merbench.errors import UserError
from merbench.registry import METRICS

# three classes; per class (support, correct): 0 -> (3, 2), 1 -> (2, 1), 2 -> (1, 1)
Y_TRUE = np.array([0, 0, 0, 1, 1, 2])
Y_PRED = np.array([0, 0, 1, 1, 2, 2])


def test_ua_is_mean_per_class_recall_and_wa_overall_accuracy():
    m = compute_metrics(Y_TRUE, Y_PRED, 3, ["ua", "wa", "avg"])
    assert m["wa"] == pytest.approx(4 / 6)
    assert m["ua"] == pytest.approx((2 / 3 + 1 / 2 + 1) / 3)
    assert m["avg"] == pytest.approx((m["ua"] + m["wa"]) / 2)
    assert list(m) == ["ua", "wa", "avg"]


def test_f1_precision_recall_match_hand_computation():
    # per class: precision 1, 1/2, 1/2; recall 2/3, 1/2, 1; F1 0.8, 0.5, 2/3
    m = compute_metrics(Y_TRUE, Y_PRED, 3, ["wf1", "macro_f1", "micro_f1", "precision", "recall"])
    assert m["macro_f1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    assert m["wf1"] == pytest.approx((3 * 0.8 + 2 * 0.5 + 1 * 2 / 3) / 6)
    assert m["micro_f1"] == pytest.approx(4 / 6)
    assert m["precision"] == pytest.approx(2 / 3)
    assert m["recall"] == pytest.approx((2 / 3 + 1 / 2 + 1) / 3)


def test_multilabel_indicator_input():
    y_true = np.array([[1, 0, 1], [0, 1, 0]])
    y_pred = np.array([[1, 0, 0], [0, 1, 0]])
    m = compute_metrics(y_true, y_pred, 3, ["wa", "micro_f1", "ua"])
    assert m["wa"] == pytest.approx(0.5)  # exact-set accuracy
    assert m["micro_f1"] == pytest.approx(2 * 2 / (2 * 2 + 0 + 1))  # tp 2, fp 0, fn 1
    assert m["ua"] == pytest.approx((1 + 1 + 0) / 3)


def test_metric_registry_and_unknown_name():
    for name in ("ua", "wa", "wf1", "macro_f1", "micro_f1", "precision", "recall"):
        assert name in METRICS
    assert METRICS.get("ua").obj(Y_TRUE, Y_PRED, 3) == pytest.approx(13 / 18)
    with pytest.raises(UserError, match="unknown metric 'uar'"):
        compute_metrics(Y_TRUE, Y_PRED, 3, ["uar"])

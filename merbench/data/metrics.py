"""Scoring metrics, registered on `METRICS` under the names used everywhere (CLI, MLflow, tables).

Every metric is ``fn(y_true, y_pred, num_classes) -> float`` in [0, 1]:

- single-label: `y_true`, `y_pred` are int arrays ``[N]`` of class indices;
- multi-label (M3ED's `final_mul_emo` option): 0/1 indicator arrays ``[N, num_classes]``.

Definitions (docs/corpora.md, "Metric names"):

- ``ua``: unweighted accuracy, the mean of per-class recalls over the classes present in `y_true`
  (balanced accuracy, UAR; the DRKF paper's "ACC" on IEMOCAP).
- ``wa``: weighted accuracy, the overall accuracy (WAR; the paper's "WACC"); subset accuracy for
  multi-label input.
- ``wf1``: F1 averaged with class-support weights. ``macro_f1`` / ``micro_f1``: F1 macro / micro
  averaged. ``precision`` / ``recall``: macro averaged; ``micro_precision`` / ``micro_recall`` are
  the micro-averaged variants for protocols that ask for them. Macro averages run over the classes
  that occur in `y_true` or `y_pred`; a class never predicted has precision 0 (no warning).
- ``avg``: the mean of the other requested metrics (the paper's "Avg"); only in `compute_metrics`.

sklearn is imported inside the functions so that importing this module stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from merbench.errors import UserError
from merbench.registry import METRICS


def _prepare(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true {y_true.shape} and y_pred {y_pred.shape} differ in shape")
    if y_true.size == 0:
        raise ValueError("cannot score an empty prediction set")
    return y_true, y_pred


def _multilabel_recall_per_class(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    support = y_true.sum(axis=0)
    hits = (y_true * y_pred).sum(axis=0)
    present = support > 0
    return hits[present] / support[present]


@METRICS.register("ua")
def ua(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> float:
    """Mean per-class recall over the classes present in `y_true` (UAR)."""
    y_true, y_pred = _prepare(y_true, y_pred)
    if y_true.ndim == 2:
        return float(np.mean(_multilabel_recall_per_class(y_true, y_pred)))
    recalls = [np.mean(y_pred[y_true == c] == c) for c in np.unique(y_true)]
    return float(np.mean(recalls))


@METRICS.register("wa")
def wa(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> float:
    """Overall accuracy (WAR); exact-set accuracy for multi-label input."""
    y_true, y_pred = _prepare(y_true, y_pred)
    if y_true.ndim == 2:
        return float(np.mean(np.all(y_true == y_pred, axis=1)))
    return float(np.mean(y_true == y_pred))


def _averaged(name: str, score: str, average: str, doc: str) -> Callable[..., float]:
    """The metric `name`: sklearn's `score` function with `average`, on `_prepare`d input."""

    def metric(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> float:
        import sklearn.metrics

        y_true, y_pred = _prepare(y_true, y_pred)
        scorer = getattr(sklearn.metrics, score)
        return float(scorer(y_true, y_pred, average=average, zero_division=0))

    metric.__name__ = metric.__qualname__ = name
    metric.__doc__ = doc
    return metric


#: The sklearn-averaged metrics: name -> (sklearn score function, average, definition).
AVERAGED = {
    "wf1": ("f1_score", "weighted", "F1 per class, averaged with weights = class support."),
    "macro_f1": ("f1_score", "macro", "Unweighted mean of per-class F1."),
    "micro_f1": ("f1_score", "micro", "F1 of the pooled counts (accuracy for single-label)."),
    "precision": ("precision_score", "macro", "Macro-averaged precision."),
    "recall": ("recall_score", "macro", "Macro-averaged recall."),
    "micro_precision": ("precision_score", "micro", "Micro-averaged precision."),
    "micro_recall": ("recall_score", "micro", "Micro-averaged recall."),
}
for _name, (_score, _average, _doc) in AVERAGED.items():
    METRICS.add(_name, _averaged(_name, _score, _average, _doc))


def compute_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, num_classes: int, names: Iterable[str]
) -> dict[str, float]:
    """Every metric in `names`, in order; ``avg`` is the mean of the other names requested.

    Unknown names raise a UserError listing the valid ones (``avg`` included).
    """
    names = list(names)
    out: dict[str, float] = {}
    for name in names:
        if name == "avg":
            continue
        if name not in METRICS:
            valid = ", ".join([*METRICS.names(), "avg"])
            raise UserError(f"unknown metric {name!r}; valid: {valid}")
        out[name] = METRICS.get(name).obj(y_true, y_pred, num_classes)
    if "avg" in names:
        others = [out[n] for n in names if n != "avg"]
        if not others:
            raise UserError("metric 'avg' needs at least one other metric to average")
        out["avg"] = float(np.mean(others))
    return {n: out[n] for n in names}

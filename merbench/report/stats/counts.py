"""Metrics from flattened confusion counts, and the A - B metric difference of a resample or of a
swap of utterance clusters: the vectorised core of the utterance-level tests (one matrix product
per batch of resamples instead of one metric call per resample)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from merbench.report.stats.results import Utterances

FAST_METRICS = ("ua", "wa", "wf1", "macro_f1", "micro_f1", "precision", "recall",
                "micro_precision", "micro_recall", "avg")  # fmt: skip


def metric_from_counts(
    counts: np.ndarray, num_classes: int, metric: str, components: Sequence[str] = ()
) -> np.ndarray:
    """Metric values from flattened confusion counts ``[..., C*C]`` (rows true, columns predicted).

    Definitions match `merbench.data.metrics` (single-label): ``ua`` averages recall over classes
    present in y_true; macro ``precision``/``recall``/``macro_f1`` average over classes present in
    y_true or y_pred; ``avg`` is the mean of `components`. Returns an array of shape ``[...]``.
    """
    c = num_classes
    cm = np.asarray(counts, dtype=float).reshape(*counts.shape[:-1], c, c)
    tp = np.diagonal(cm, axis1=-2, axis2=-1)
    support = cm.sum(axis=-1)
    predicted = cm.sum(axis=-2)
    total = support.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        if metric in ("wa", "micro_f1", "micro_precision", "micro_recall"):
            return tp.sum(axis=-1) / total
        if metric == "ua":
            present = support > 0
            recall = np.where(present, tp / np.where(present, support, 1), 0.0)
            return recall.sum(axis=-1) / present.sum(axis=-1)
        labels = (support > 0) | (predicted > 0)
        n_labels = labels.sum(axis=-1)
        recall = np.where(support > 0, tp / np.where(support > 0, support, 1), 0.0)
        precision = np.where(predicted > 0, tp / np.where(predicted > 0, predicted, 1), 0.0)
        denom = support + predicted
        f1 = np.where(denom > 0, 2 * tp / np.where(denom > 0, denom, 1), 0.0)
        if metric == "recall":
            return recall.sum(axis=-1) / n_labels
        if metric == "precision":
            return precision.sum(axis=-1) / n_labels
        if metric == "macro_f1":
            return f1.sum(axis=-1) / n_labels
        if metric == "wf1":
            return (f1 * support).sum(axis=-1) / total
    if metric == "avg":
        parts = [m for m in components if m != "avg"]
        if not parts:
            raise ValueError("avg needs its component metrics")
        return np.mean([metric_from_counts(counts, c, m) for m in parts], axis=0)
    raise ValueError(f"metric {metric!r} has no count-based form; supported: {FAST_METRICS}")


def diff_from_swaps(
    data: Utterances,
    swap: np.ndarray,
    base_a: np.ndarray | None = None,
    base_b: np.ndarray | None = None,
) -> np.ndarray:
    """Metric(A') - metric(B') where clusters with ``swap`` = 1 exchange A and B. ``swap [..., N]``.
    `base_a` / `base_b` (``[C*C]``): the unswapped totals, when `data` holds only some clusters of
    the comparison (default: its own sums)."""
    delta = data.hb - data.ha  # [N, C*C]
    base_a = data.ha.sum(axis=0) if base_a is None else base_a
    base_b = data.hb.sum(axis=0) if base_b is None else base_b
    moved = swap.astype(float) @ delta  # [..., C*C]
    ma = metric_from_counts(base_a + moved, data.num_classes, data.metric, data.components)
    mb = metric_from_counts(base_b - moved, data.num_classes, data.metric, data.components)
    return ma - mb


def diff_from_weights(data: Utterances, weights: np.ndarray) -> np.ndarray:
    """Metric difference on a resample that takes cluster i ``weights[..., i]`` times."""
    ma = metric_from_counts(weights @ data.ha, data.num_classes, data.metric, data.components)
    mb = metric_from_counts(weights @ data.hb, data.num_classes, data.metric, data.components)
    return ma - mb

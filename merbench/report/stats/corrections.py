"""Corrections for multiple comparisons, by name in `CORRECTIONS`; each works on the last axis of
an array of p-values (one family per row of a batch of tables).

Multiple comparisons: Holm's step-down correction across the rows compared within one column (the
metrics of a table are distinct, strongly correlated questions and are not corrected against each
other). When the reference row is *selected from the data* (the best row), Holm runs over all
pairwise comparisons of the column, of which the marked ones are a subset: comparing everything
against the observed best with only k - 1 corrections inflates the false-positive rate under the
null (the calibration tests in tests/report/test_report_calibration.py measure both modes).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np


def holm(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm-adjusted p-values over the last axis (step-down, monotone, capped at 1); NaN entries
    stay NaN and do not count towards the number of hypotheses."""
    p = np.asarray(p_values, dtype=float)
    missing = np.isnan(p)
    m = np.count_nonzero(~missing, axis=-1)[..., None]
    order = np.argsort(np.where(missing, np.inf, p), axis=-1, kind="stable")
    ranked = np.take_along_axis(p, order, axis=-1)
    steps = np.minimum(1.0, (m - np.arange(p.shape[-1])) * ranked)
    steps = np.maximum.accumulate(np.where(np.isnan(steps), -np.inf, steps), axis=-1)
    out = np.empty_like(p)
    np.put_along_axis(out, order, steps, axis=-1)
    return np.where(missing, np.nan, out)


def bonferroni(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Bonferroni-adjusted p-values over the last axis (NaN entries are not hypotheses)."""
    p = np.asarray(p_values, dtype=float)
    m = np.count_nonzero(~np.isnan(p), axis=-1)[..., None]
    return np.minimum(1.0, p * m)


CORRECTIONS: dict[str, Callable[[Sequence[float] | np.ndarray], np.ndarray]] = {
    "holm": holm,
    "bonferroni": bonferroni,
    "none": lambda p: np.asarray(p, dtype=float),
}

"""The marks of one table column, vectorised over a batch of tables: the statistics core of †.

`mark_column` is what `merbench table` (through `merbench.report.compare.compare_rows`) runs for
every column, and what the calibration tests run on thousands of simulated tables at once (arrays
with a leading table axis T): it picks the reference row (a named row, or the best row by mean),
forms the correction family (the rows against a named reference; every pair of rows when the
reference is the data-selected best row), takes one p-value per pair from a test, corrects them
over the family and marks each row whose comparison with the reference has corrected p <= alpha.

`unit_pvalues` is the unit-level test of a batch: per pair, the difference of each unit (a fold:
the mean over the seeds both rows have; or a seed of one split), then `unit_statistics`: the
paired t-test, or with ``ratio`` = n_test / n_train Nadeau and Bengio's corrected resampled t-test.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from merbench.report.stats.corrections import CORRECTIONS

Pairs = list[tuple[int, int]]


@dataclass(frozen=True)
class UnitStatistics:
    """A t-test per pair (arrays of one shape ``[...]``): units, mean difference, its SD (ddof 1),
    t statistic, two-sided p and the CI of the mean difference. NaN where undefined."""

    n: np.ndarray
    diff: np.ndarray
    sd: np.ndarray
    statistic: np.ndarray
    p_value: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray


def unit_statistics(d: np.ndarray, ratio: float = 0.0, confidence: float = 0.95) -> UnitStatistics:
    """t-test of the unit differences ``d [..., U]`` (NaN: a unit one row lacks) over the last axis.

    Standard error ``sd * sqrt(1/n + ratio)`` with n - 1 degrees of freedom: ``ratio`` 0 is the
    paired t-test; ``ratio`` = n_test / n_train is Nadeau and Bengio's corrected resampled t-test,
    exact when the unit differences are normal and equicorrelated with rho = ratio / (1 + ratio)
    (folds that share training data). n < 2 gives NaN; sd = 0 gives p = 1 when the mean is 0 (NaN
    otherwise: the test is undefined) and statistic 0.
    """
    from scipy import stats

    d = np.asarray(d, dtype=float)
    valid = ~np.isnan(d)
    n = valid.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(valid, d, 0.0).sum(axis=-1) / n
        dev = np.where(valid, d - mean[..., None], 0.0)
        sd = np.sqrt((dev**2).sum(axis=-1) / (n - 1))
        se = sd * np.sqrt(1.0 / n + ratio)
        t = mean / se
        df = np.maximum(n - 1, 1)
        p = 2 * stats.t.sf(np.abs(t), df)
        half = stats.t.ppf(0.5 + confidence / 2, df) * se
    few = n < 2
    flat = ~few & (sd == 0)
    t = np.where(flat, 0.0, np.where(few, np.nan, t))
    p = np.where(flat, np.where(mean == 0, 1.0, np.nan), np.where(few, np.nan, p))
    half = np.where(few, np.nan, np.where(flat, 0.0, half))
    sd = np.where(few, np.nan, sd)
    return UnitStatistics(n, mean, sd, t, p, mean - half, mean + half)


def unit_differences(values: np.ndarray, pairs: Pairs) -> np.ndarray:
    """Per pair (i, j), the unit differences row i - row j: ``values [T, S, K, R]`` (table, split,
    seed, row; NaN: a missing run) -> ``[T, P, U]``. With several splits (S > 1) a unit is a split
    and its difference the mean over the seeds both rows have there (seeds sharing a test fold are
    repeated measures, not independent units); with one split a unit is a seed."""
    i = [a for a, _ in pairs]
    j = [b for _, b in pairs]
    d = values[..., i] - values[..., j]  # [T, S, K, P]
    if values.shape[1] == 1:
        return np.moveaxis(d[:, 0], -1, 1)  # [T, P, K]
    with np.errstate(invalid="ignore"):
        counts = (~np.isnan(d)).sum(axis=2)
        folds = np.where(counts > 0, np.nansum(d, axis=2) / np.maximum(counts, 1), np.nan)
    return np.moveaxis(folds, -1, 1)  # [T, P, S]


def unit_pvalues(values: np.ndarray, ratio: float = 0.0) -> Callable[[Pairs], np.ndarray]:
    """The p-values ``[T, P]`` of `unit_statistics` for the pairs asked, from ``values [T, S, K,
    R]`` (see `unit_differences`)."""
    return lambda pairs: unit_statistics(unit_differences(values, pairs), ratio).p_value


def row_means(values: np.ndarray) -> np.ndarray:
    """Mean of each row over its units, ``[T, S, K, R] -> [T, R]`` (NaN: a row without runs)."""
    flat = values.reshape(values.shape[0], -1, values.shape[-1])
    counts = (~np.isnan(flat)).sum(axis=1)
    with np.errstate(invalid="ignore"):
        return np.where(counts > 0, np.nansum(flat, axis=1) / np.maximum(counts, 1), np.nan)


def family_pairs(n_rows: int, reference: int | None) -> Pairs:
    """The pairs tested in one column: (row, reference) for a named reference; every pair (i < j)
    when the reference is the best row (selected from the data)."""
    if reference is None:
        return list(itertools.combinations(range(n_rows), 2))
    return [(r, reference) for r in range(n_rows) if r != reference]


def reference_rows(
    means: np.ndarray, reference: int | None, eligible: np.ndarray | None = None
) -> np.ndarray:
    """The reference row of each table ``[T]``: `reference`, or the row with the highest mean among
    the `eligible` ones (``[T, R]`` bool; default all; the first of ties)."""
    if reference is not None:
        return np.full(means.shape[0], reference)
    ok = ~np.isnan(means) if eligible is None else eligible & ~np.isnan(means)
    return np.argmax(np.where(ok, means, -np.inf), axis=1)


@dataclass(frozen=True)
class ColumnMarks:
    """What `mark_column` decided: the reference row of each table ``[T]``, the pairs tested, their
    raw and corrected p ``[T, P]``, the family size (pairs with a p-value) ``[T]``, and ``marked
    [T, R]``: the row differs significantly from its table's reference."""

    reference: np.ndarray
    pairs: Pairs
    p_value: np.ndarray
    p_adjusted: np.ndarray
    family: np.ndarray
    marked: np.ndarray


def mark_column(
    means: np.ndarray,
    pvalues: Callable[[Pairs], np.ndarray],
    *,
    reference: int | None,
    alpha: float,
    correction: str = "holm",
    eligible: np.ndarray | None = None,
) -> ColumnMarks:
    """Marks of one column for a batch of tables (module docstring). ``means [T, R]`` ranks the
    rows; ``pvalues(pairs) -> [T, P]`` is the test; `reference` a row index or None (best row)."""
    n_tables, n_rows = means.shape
    ref = reference_rows(means, reference, eligible)
    pairs = family_pairs(n_rows, reference)
    p = np.asarray(pvalues(pairs), dtype=float).reshape(n_tables, len(pairs))
    adjusted = CORRECTIONS[correction](p)
    family = np.count_nonzero(~np.isnan(p), axis=1)
    marked = np.zeros((n_tables, n_rows), dtype=bool)
    significant = ~np.isnan(adjusted) & (adjusted <= alpha)
    for q, (i, j) in enumerate(pairs):
        marked[:, i] |= significant[:, q] & (ref == j)
        marked[:, j] |= significant[:, q] & (ref == i)
    return ColumnMarks(ref, pairs, p, adjusted, family, marked)


def family_alpha(alpha: float, family: int, correction: str) -> float:
    """The level a comparison's raw p must reach to earn a mark for certain: alpha / m under Holm
    or Bonferroni over a family of m comparisons (Holm's first step, the bound that holds at any
    rank), alpha without correction."""
    return alpha if correction == "none" or family <= 1 else alpha / family

"""Unit-level tests: over matched units (folds, seed-averaged, or seeds of one split), the per-unit
metric vectors of `Units`.

``corrected`` (Nadeau and Bengio's corrected resampled t-test, for folds that share training data),
``ttest`` (paired t-test; effect Cohen's d_z for both) and ``wilcoxon`` (signed-rank, effect
matched-pairs rank-biserial correlation). The t-tests are `merbench.report.stats.family`'s
vectorised `unit_statistics`; scipy is imported inside the functions (the CLI imports this package).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from merbench.registry import STAT_TESTS
from merbench.report.stats.family import unit_statistics
from merbench.report.stats.results import StatResult, Units


@dataclass
class TTestConfig:
    """Paired t-test over matched units (the units of a fold corpus are treated as independent)."""

    level: ClassVar[str] = "units"
    confidence: float = 0.95  # level of the CI of the mean difference


def _t_result(name: str, data: Units, ratio: float, confidence: float) -> StatResult:
    d = np.asarray(data.a, float) - np.asarray(data.b, float)
    s = unit_statistics(d, ratio, confidence)
    n, mean, sd = int(s.n), float(s.diff), float(s.sd)
    if n < 2:
        return StatResult(name, math.nan, math.nan, mean, math.nan, "d_z", n, note="n < 2")
    effect = mean / sd if sd > 0 else math.nan
    note = "sd(d) = 0" if sd == 0 else ""
    return StatResult(
        name, float(s.statistic), float(s.p_value), mean, effect, "d_z", n,
        (float(s.ci_low), float(s.ci_high)), note,
    )  # fmt: skip


@STAT_TESTS.register("ttest", config=TTestConfig)
def paired_ttest(config: TTestConfig, data: Units) -> StatResult:
    """Paired t-test of A - B over units; effect Cohen's d_z = mean(d) / sd(d) (ddof 1)."""
    return _t_result("ttest", data, 0.0, config.confidence)


@dataclass
class CorrectedTTestConfig:
    """Nadeau and Bengio's (2003) corrected resampled t-test over folds: the variance of the mean
    fold difference is sd^2 (1/k + n_test/n_train) instead of sd^2 / k, because folds share
    training data and their differences are correlated. ``ratio`` = n_test / n_train (None: the
    data's, 1 / (n - 1) for a corpus of n folds)."""

    level: ClassVar[str] = "units"
    confidence: float = 0.95
    ratio: float | None = None


@STAT_TESTS.register("corrected", config=CorrectedTTestConfig)
def corrected_ttest(config: CorrectedTTestConfig, data: Units) -> StatResult:
    """Corrected resampled t-test of A - B over folds; effect Cohen's d_z (uncorrected)."""
    ratio = data.ratio if config.ratio is None else config.ratio
    return _t_result("corrected", data, ratio, config.confidence)


@dataclass
class WilcoxonConfig:
    """Wilcoxon signed-rank test over matched units (scipy.stats.wilcoxon).

    With n units and no ties the smallest two-sided p is 2 / 2**n: 0.0625 for n = 5, so with 5 folds
    x 1 seed it can never be significant at 0.05.
    """

    level: ClassVar[str] = "units"
    zero_method: str = "wilcox"  # zero differences dropped (scipy's default)
    method: str = "auto"  # exact distribution for small n without ties


@STAT_TESTS.register("wilcoxon", config=WilcoxonConfig)
def wilcoxon(config: WilcoxonConfig, data: Units) -> StatResult:
    """Signed-rank test of A - B; effect = matched-pairs rank-biserial (T+ - T-) / (T+ + T-)."""
    from scipy import stats

    d = np.asarray(data.a, float) - np.asarray(data.b, float)
    n = d.size
    mean = float(d.mean()) if n else math.nan
    nonzero = d[d != 0]
    if nonzero.size == 0:
        return StatResult("wilcoxon", 0.0, 1.0 if n else math.nan, mean, 0.0, "r_rb", n)
    ranks = stats.rankdata(np.abs(nonzero))
    t_plus, t_minus = ranks[nonzero > 0].sum(), ranks[nonzero < 0].sum()
    r_rb = float((t_plus - t_minus) / (t_plus + t_minus))
    res = stats.wilcoxon(d, zero_method=config.zero_method, method=config.method)
    return StatResult("wilcoxon", float(res.statistic), float(res.pvalue), mean, r_rb, "r_rb", n)


def min_wilcoxon_p(n: int) -> float:
    """Smallest two-sided exact p of the signed-rank test with n nonzero untied differences."""
    return min(1.0, 2.0 / 2**n) if n > 0 else 1.0

"""Unit-level tests: over matched (split, seed) units, the per-unit metric vectors of `Units`.

``ttest`` (paired t-test, effect Cohen's d_z) and ``wilcoxon`` (signed-rank, effect matched-pairs
rank-biserial correlation). scipy is imported inside the functions (the CLI imports this package).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from merbench.registry import STAT_TESTS
from merbench.report.stats.results import StatResult, Units


@dataclass
class TTestConfig:
    """Paired t-test over matched units (scipy.stats.ttest_rel)."""

    level: ClassVar[str] = "units"
    confidence: float = 0.95  # level of the CI of the mean difference


@STAT_TESTS.register("ttest", config=TTestConfig)
def paired_ttest(config: TTestConfig, data: Units) -> StatResult:
    """Paired t-test of A - B over units; effect Cohen's d_z = mean(d) / sd(d) (ddof 1)."""
    from scipy import stats

    d = np.asarray(data.a, float) - np.asarray(data.b, float)
    n = d.size
    mean = float(d.mean()) if n else math.nan
    if n < 2:
        return StatResult("ttest", math.nan, math.nan, mean, math.nan, "d_z", n, note="n < 2")
    sd = float(d.std(ddof=1))
    if sd == 0.0:
        p = 1.0 if mean == 0.0 else math.nan
        return StatResult("ttest", 0.0, p, mean, math.nan, "d_z", n, (mean, mean), "sd(d) = 0")
    res = stats.ttest_rel(data.a, data.b)
    ci = res.confidence_interval(config.confidence)
    return StatResult(
        "ttest", float(res.statistic), float(res.pvalue), mean, mean / sd, "d_z", n,
        (float(ci.low), float(ci.high)),
    )  # fmt: skip


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

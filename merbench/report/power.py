"""Resolution of a comparison: its minimum detectable difference (MDE).

A table that marks no difference says nothing unless it also says how large a difference it
could have detected. The MDE of a comparison is the smallest true difference that earns a † with
probability `POWER` (0.8) under the test and the correction actually applied: the raw p must reach
alpha / m under Holm (or Bonferroni) over a family of m comparisons (Holm's first step, the bound
that earns a mark at any rank; `merbench.report.stats.family.family_alpha`), alpha without
correction. `compare_rows` passes that level as `alpha`. Given the variance observed in the
comparison's own paired data:

- ``ttest``: exact, from the noncentral t distribution with n - 1 degrees of freedom and the
  observed standard deviation of the paired unit differences;
- ``corrected``: the same with the standard deviation inflated by sqrt(1 + n * n_test/n_train)
  (the corrected test's standard error is sd * sqrt(1/n + n_test/n_train));
- ``wilcoxon``: the t-test's MDE divided by sqrt(3/pi) (the signed-rank test's asymptotic
  relative efficiency under normal differences); infinite when n units cannot reach alpha at
  all (2 / 2**n > alpha);
- utterance-level tests (``permutation``, ``bootstrap``, ``mcnemar``): the normal approximation
  (z_{1-alpha/2} + z_{power}) x SD of the metric difference under random exchange of the two
  configurations' predictions within each utterance cluster (the permutation null
  distribution, from 2000 draws with a fixed seed), for any metric of `FAST_METRICS`.

A registered test of another name is treated by its level: unit-level as the t-test,
utterance-level as the permutation test. Tested against brute-force power simulations
(tests/report/test_report_power.py) and through the table's own code path
(tests/report/test_report_calibration.py).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from merbench.report.stats import Units, Utterances, min_wilcoxon_p, test_level
from merbench.report.stats.counts import diff_from_swaps

POWER = 0.8


def mde_paired_t(sd: float, n: int, alpha: float, power: float = POWER) -> float:
    """Smallest |mean difference| that a two-sided paired t-test over `n` units with difference
    SD `sd` detects with probability `power` (exact, noncentral t). NaN when n < 2."""
    from scipy import optimize, stats

    if n < 2 or not math.isfinite(sd):
        return math.nan
    if sd == 0.0:
        return 0.0
    df = n - 1
    crit = stats.t.ppf(1 - alpha / 2, df)

    def power_at(delta: float) -> float:
        nc = delta * math.sqrt(n) / sd
        upper = float(stats.nct.sf(crit, df, nc))
        lower = float(stats.nct.cdf(-crit, df, nc))  # far tail: scipy may give NaN for ~0
        upper = upper if math.isfinite(upper) else float(nc > crit)
        return upper + (lower if math.isfinite(lower) else 0.0)

    high = sd
    while power_at(high) < power:
        high *= 2
    return float(optimize.brentq(lambda d: power_at(d) - power, 0.0, high, xtol=1e-10))


def mde_utterances(
    data: Utterances, alpha: float, power: float = POWER, draws: int = 2000, seed: int = 0
) -> float:
    """Normal-approximation MDE of an utterance-level test: (z_{1-alpha/2} + z_power) x the SD
    of the metric difference under random within-cluster exchange of A and B."""
    from scipy import stats

    n = data.ha.shape[0]
    if n == 0:
        return math.nan
    swaps = np.random.default_rng(seed).integers(0, 2, size=(draws, n))
    null = diff_from_swaps(data, swaps)
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    return float(z * np.nanstd(null, ddof=1))


def minimum_detectable_difference(
    test: str, data: Units | Utterances, alpha: float, power: float = POWER
) -> float:
    """The MDE (a fraction, like the metrics) of the comparison `data` under `test`, at the raw
    level `alpha` a comparison must reach (after the correction: `family_alpha`)."""
    if test_level(test) == "utterances":
        assert isinstance(data, Utterances)
        return mde_utterances(data, alpha, power)
    assert isinstance(data, Units)
    d = np.asarray(data.a, float) - np.asarray(data.b, float)
    if d.size < 2:
        return math.nan
    sd = float(d.std(ddof=1))
    if test == "corrected":
        sd *= math.sqrt(1 + d.size * data.ratio)
    mde = mde_paired_t(sd, d.size, alpha, power)
    if test == "wilcoxon":
        if min_wilcoxon_p(d.size) > alpha:
            return math.inf
        mde /= math.sqrt(3 / math.pi)
    return mde


def resolution_sentence(
    comparisons: pd.DataFrame, headers: dict[tuple[str, str], str], alpha: float
) -> str:
    """The caption's summary of the table's resolution: per column, the median MDE of its
    comparisons in points, and the raw level a comparison had to reach there (alpha / m under the
    correction). Empty when no comparison has an MDE."""
    if comparisons.empty or "mde" not in comparisons:
        return ""
    parts = []
    several = len({d for d, _ in headers}) > 1
    for (dataset, metric), header in headers.items():
        sub = comparisons[(comparisons["dataset"] == dataset) & (comparisons["metric"] == metric)]
        values = sub["mde"].astype(float).dropna()
        if values.empty:
            continue
        name = f"{dataset} {header}" if several else header
        median = float(values.median())
        text = "unreachable" if math.isinf(median) else f"{100 * median:.1f}"
        if "mde_alpha" in sub and sub["mde_alpha"].notna().any():
            text += f" (p \u2264 {float(sub['mde_alpha'].max()):.3g})"
        parts.append(f"{name} {text}")
    if not parts:
        return ""
    return (
        f"Resolution: differences below {', '.join(parts)} points are not resolvable with these "
        f"units: the median minimum detectable difference of each column's comparisons, the "
        f"smallest true difference that earns a \u2020 with {POWER:.0%} power under the test and "
        f"its correction (raw p at \u03b1 / m for a family of m comparisons, Holm's first step; "
        f"\u03b1 = {alpha:g})."
    )

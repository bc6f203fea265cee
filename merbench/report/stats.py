"""Significance tests between configurations, registered on the `STAT_TESTS` axis.

Two kinds of test, each a function ``test(config, data) -> StatResult``:

- over matched *units* (same split and seed; `Units` holds the two per-unit metric vectors):
  ``ttest`` (paired t-test, effect Cohen's d_z) and ``wilcoxon`` (signed-rank, effect matched-pairs
  rank-biserial correlation);
- over test *utterances*, from per-utterance predictions pooled over seeds (and folds); one
  utterance of one split is a cluster whose seeds stay together (`Utterances`): ``bootstrap``
  (paired bootstrap of the metric difference), ``permutation`` (paired permutation: the two
  configurations' predictions of an utterance are swapped), ``mcnemar`` (exact McNemar on
  per-utterance correctness; with several seeds, the sign test on seed-averaged correctness
  differences, which is exactly McNemar with one seed). Effect: the metric difference.

Units of a unit-level test: with several splits (IEMOCAP's 5 folds), a unit is a fold and its
value the mean over the seeds both configurations have on it: seeds that share a test fold are
repeated measures, and counting 5 folds x 3 seeds as 15 independent units would understate the
variance whenever configurations differ from fold to fold. With one split (MELD, M3ED), a unit is
a seed.

Default choice (`choose_test`), what a careful analyst would pick and why:

1. one official split (MELD, M3ED) and per-utterance predictions available: ``permutation``. Units
   are then only seeds (typically 1-5): too few for a unit test, and with a fixed test set the
   sampling of test utterances is the uncertainty that matters. The paired permutation test is
   exact under the null that the two configurations are exchangeable on every utterance; the
   bootstrap's shifted-distribution p-value is only approximate (simulated null, 1000 comparisons
   of 200 utterances x 2 seeds: rate of p <= 0.05 was 0.053 for the bootstrap and 0.052 for the
   permutation test, but of p <= 0.01 it was 0.022 and 0.016). The permutation result carries the
   bootstrap percentile CI of the difference.
2. otherwise >= 5 units (folds, or seeds of one split): ``ttest`` over units. Not Wilcoxon: with n
   units its smallest two-sided p is 2 / 2**n, 0.0625 for 5 folds, so it can never reach 0.05 (it
   can from n = 6; choose it with ``--test wilcoxon`` when normality of the differences is
   doubtful). Caveat: folds share training data, so fold differences are not independent and the
   paired t-test over folds is somewhat liberal (Dietterich 1998; Nadeau & Bengio 2003).
3. otherwise per-utterance predictions available: ``permutation`` pooled over folds and seeds.
4. otherwise >= 2 units: ``ttest`` (few degrees of freedom, stated in the caption).
5. otherwise no test.

Multiple comparisons: Holm's step-down correction across the rows compared within one column (the
metrics of a table are distinct, strongly correlated questions and are not corrected against each
other). When the reference row is *selected from the data* (the best row), Holm runs over all
pairwise comparisons of the column, of which the marked ones are a subset: comparing everything
against the observed best with only k - 1 corrections inflates the false-positive rate under the
null (simulated: 3 equal configurations, 5 folds x 2 seeds, 400 tables: family-wise rate 0.0775
with k - 1 corrections, 0.0575 over all pairs).

scipy is imported inside functions (the CLI imports this module at start).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from merbench.registry import STAT_TESTS


@dataclass(frozen=True)
class StatResult:
    """Outcome of one comparison of configuration A against reference B (difference = A - B).

    `diff` is the mean per-unit difference (unit tests) or the pooled metric difference
    (utterance tests); `ci` its confidence interval (NaN when the test gives none); `effect` the
    effect size named by `effect_name`; `n` the number of units or utterance clusters.
    """

    test: str
    statistic: float
    p_value: float
    diff: float
    effect: float
    effect_name: str
    n: int
    ci: tuple[float, float] = (math.nan, math.nan)
    note: str = ""


@dataclass(frozen=True)
class Units:
    """Per-unit metric values of configuration A and reference B, matched: ``a[i]``, ``b[i]``
    belong to the same (split, seed) unit. Shapes ``[n]``."""

    a: np.ndarray
    b: np.ndarray


@dataclass(frozen=True)
class Utterances:
    """Per-utterance predictions of A and B over matched units, as confusion-count contributions.

    ``ha[i]``, ``hb[i]`` (shape ``[N, C*C]``) count, for utterance cluster i (one utterance of one
    split), how often the pair (true class, predicted class) occurs over the seeds, flattened as
    ``true * C + pred``. ``correct_a[i]`` / ``correct_b[i]`` are the shares of seeds that predict
    cluster i correctly. `metric` is the metric whose difference is tested.
    """

    ha: np.ndarray
    hb: np.ndarray
    correct_a: np.ndarray
    correct_b: np.ndarray
    num_classes: int
    metric: str
    components: tuple[str, ...] = field(default=())  # the metrics `avg` averages


# --------------------------------------------------------------------------- metric from counts
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


def _diff_from_swaps(data: Utterances, swap: np.ndarray) -> np.ndarray:
    """Metric(A') - metric(B') where clusters with ``swap`` = 1 exchange A and B. ``swap [..., N]``."""
    delta = data.hb - data.ha  # [N, C*C]
    base_a, base_b = data.ha.sum(axis=0), data.hb.sum(axis=0)
    moved = swap.astype(float) @ delta  # [..., C*C]
    ma = metric_from_counts(base_a + moved, data.num_classes, data.metric, data.components)
    mb = metric_from_counts(base_b - moved, data.num_classes, data.metric, data.components)
    return ma - mb


def _diff_from_weights(data: Utterances, weights: np.ndarray) -> np.ndarray:
    """Metric difference on a resample that takes cluster i ``weights[..., i]`` times."""
    ma = metric_from_counts(weights @ data.ha, data.num_classes, data.metric, data.components)
    mb = metric_from_counts(weights @ data.hb, data.num_classes, data.metric, data.components)
    return ma - mb


# --------------------------------------------------------------------------- unit-level tests
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


# --------------------------------------------------------------------------- utterance-level tests
@dataclass
class BootstrapConfig:
    """Paired bootstrap over test utterances (clusters keep their seeds), scipy.stats.bootstrap.

    p-value: two-sided, from the bootstrap distribution shifted to the null,
    ``(1 + #{|d* - d| >= |d|}) / (B + 1)``; CI: percentile interval.
    """

    level: ClassVar[str] = "utterances"
    n_resamples: int = 2000
    seed: int = 0
    confidence: float = 0.95


def _bootstrap(data: Utterances, n_resamples: int, seed: int, confidence: float) -> tuple:
    """scipy.stats.bootstrap over utterance clusters: (observed difference, result)."""
    from scipy import stats

    n = data.ha.shape[0]
    observed = float(_diff_from_weights(data, np.ones(n)))

    def statistic(idx: np.ndarray, axis: int = -1) -> np.ndarray:
        idx = np.asarray(idx, dtype=np.int64)
        flat = idx.reshape(-1, n)
        offsets = np.arange(flat.shape[0])[:, None] * n
        counts = np.bincount((flat + offsets).ravel(), minlength=flat.shape[0] * n)
        out = _diff_from_weights(data, counts.reshape(flat.shape[0], n).astype(float))
        return out.reshape(idx.shape[:-1])

    res = stats.bootstrap(
        (np.arange(n),), statistic, n_resamples=n_resamples, vectorized=True,
        method="percentile", confidence_level=confidence, batch=200,
        rng=np.random.default_rng(seed),
    )  # fmt: skip
    return observed, res


@STAT_TESTS.register("bootstrap", config=BootstrapConfig)
def paired_bootstrap(config: BootstrapConfig, data: Utterances) -> StatResult:
    """Paired bootstrap of metric(A) - metric(B); effect = that difference."""
    n = data.ha.shape[0]
    observed, res = _bootstrap(data, config.n_resamples, config.seed, config.confidence)
    dist = res.bootstrap_distribution
    extreme = np.count_nonzero(np.abs(dist - observed) >= abs(observed) - 1e-12)
    p = (1 + extreme) / (dist.size + 1) if observed != 0 else 1.0
    ci = (float(res.confidence_interval.low), float(res.confidence_interval.high))
    return StatResult("bootstrap", observed, float(p), observed, observed, "diff", n, ci)


@dataclass
class PermutationConfig:
    """Paired permutation test over test utterances (scipy.stats.permutation_test, ``samples``):
    each cluster's A and B predictions are swapped at random; exact when 2**N <= n_resamples.
    Valid under the null that A and B are exchangeable on every utterance; the CI of the
    difference is the paired bootstrap's percentile interval (``confidence``; 0 skips it)."""

    level: ClassVar[str] = "utterances"
    n_resamples: int = 2000
    seed: int = 0
    confidence: float = 0.95


@STAT_TESTS.register("permutation", config=PermutationConfig)
def paired_permutation(config: PermutationConfig, data: Utterances) -> StatResult:
    """Permutation test of metric(A) - metric(B); effect = that difference."""
    from scipy import stats

    n = data.ha.shape[0]
    observed = float(_diff_from_swaps(data, np.zeros(n)))

    def statistic(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
        # x holds cluster indices 0..N-1 where A stays A and N..2N-1 where it was swapped with B
        swap = (np.asarray(x) >= n).astype(float)
        return _diff_from_swaps(data, swap)

    res = stats.permutation_test(
        (np.arange(n), np.arange(n) + n), statistic, permutation_type="samples",
        vectorized=True, n_resamples=config.n_resamples, batch=200,
        rng=np.random.default_rng(config.seed),
    )  # fmt: skip
    ci = (math.nan, math.nan)
    if config.confidence > 0:
        _, boot = _bootstrap(data, config.n_resamples, config.seed, config.confidence)
        ci = (float(boot.confidence_interval.low), float(boot.confidence_interval.high))
    p = float(res.pvalue) if observed != 0 else 1.0
    return StatResult("permutation", observed, p, observed, observed, "diff", n, ci)


@dataclass
class McNemarConfig:
    """Exact McNemar test on per-utterance correctness (scipy.stats.binomtest on discordant pairs).

    With one seed: b = utterances A gets right and B wrong, c = the reverse, p = two-sided binomial
    test of b out of b + c at 1/2. With several seeds: the sign test on each utterance's
    seed-averaged correctness difference (b = positive, c = negative), McNemar's generalisation
    that keeps the seeds of an utterance together. The result applies to every metric column.
    """

    level: ClassVar[str] = "utterances"


@STAT_TESTS.register("mcnemar", config=McNemarConfig)
def mcnemar(config: McNemarConfig, data: Utterances) -> StatResult:
    """McNemar / sign test; effect = accuracy difference (pooled over seeds)."""
    from scipy import stats

    d = np.asarray(data.correct_a, float) - np.asarray(data.correct_b, float)
    b, c = int(np.count_nonzero(d > 0)), int(np.count_nonzero(d < 0))
    p = float(stats.binomtest(b, b + c, 0.5).pvalue) if b + c else 1.0
    diff = float(d.mean()) if d.size else math.nan
    return StatResult("mcnemar", float(b), p, diff, diff, "acc diff", d.size, note=f"b={b}, c={c}")


# --------------------------------------------------------------------------- corrections, choice
def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm-adjusted p-values (step-down, monotone, capped at 1); NaN entries stay NaN and do not
    count towards the number of hypotheses."""
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    valid = np.flatnonzero(~np.isnan(p))
    m = valid.size
    order = valid[np.argsort(p[valid], kind="stable")]
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out


def bonferroni(p_values: Sequence[float]) -> np.ndarray:
    p = np.asarray(p_values, dtype=float)
    m = np.count_nonzero(~np.isnan(p))
    return np.minimum(1.0, p * m)


CORRECTIONS: dict[str, Callable[[Sequence[float]], np.ndarray]] = {
    "holm": holm,
    "bonferroni": bonferroni,
    "none": lambda p: np.asarray(p, dtype=float),
}


def test_level(name: str) -> str:
    """``"units"`` or ``"utterances"``: what the registered test `name` consumes."""
    entry = STAT_TESTS.get(name)
    return getattr(entry.config, "level", "units") if entry.config else "units"


def min_wilcoxon_p(n: int) -> float:
    """Smallest two-sided exact p of the signed-rank test with n nonzero untied differences."""
    return min(1.0, 2.0 / 2**n) if n > 0 else 1.0


def choose_test(n_splits: int, n_units: int, have_predictions: bool) -> tuple[str | None, str]:
    """The default test and the reason, given the number of distinct splits of the dataset, the
    smallest number of matched units among the pairs compared, and whether per-utterance
    predictions can be loaded (rules in the module docstring)."""
    if n_splits == 1 and have_predictions:
        return "permutation", "one official split: paired permutation test over test utterances"
    if n_units >= 5:
        return "ttest", f"paired t-test over {n_units} units"
    if have_predictions:
        return "permutation", "fewer than 5 units: paired permutation test over test utterances"
    if n_units >= 2:
        return "ttest", f"paired t-test over only {n_units} units"
    return None, "no test: fewer than 2 matched units and no per-utterance predictions"

"""Utterance-level tests: from per-utterance predictions pooled over seeds (and folds); one
utterance of one split is a cluster whose seeds stay together (`Utterances`).

``bootstrap`` (paired bootstrap of the metric difference), ``permutation`` (paired permutation: the
two configurations' predictions of an utterance are swapped), ``mcnemar`` (exact McNemar on
per-utterance correctness; with several seeds, the sign test on seed-averaged correctness
differences, which is exactly McNemar with one seed). Effect: the metric difference. scipy is
imported inside the functions (the CLI imports this package).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from merbench.registry import STAT_TESTS
from merbench.report.stats.counts import diff_from_swaps, diff_from_weights
from merbench.report.stats.permutation import permutation_pvalues, swap_kinds
from merbench.report.stats.results import StatResult, Utterances


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
    observed = float(diff_from_weights(data, np.ones(n)))

    def statistic(idx: np.ndarray, axis: int = -1) -> np.ndarray:
        idx = np.asarray(idx, dtype=np.int64)
        flat = idx.reshape(-1, n)
        offsets = np.arange(flat.shape[0])[:, None] * n
        counts = np.bincount((flat + offsets).ravel(), minlength=flat.shape[0] * n)
        out = diff_from_weights(data, counts.reshape(flat.shape[0], n).astype(float))
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
    """Paired permutation test over test utterances: each cluster's A and B predictions are swapped
    at random (`permutation_pvalue`); exact when 2**N' <= n_resamples, N' the clusters where A and
    B differ (the others do not move the statistic). Valid under the null that A and B are
    exchangeable on every utterance; the CI of the difference is the paired bootstrap's percentile
    interval (``confidence``; 0 skips it)."""

    level: ClassVar[str] = "utterances"
    n_resamples: int = 2000
    seed: int = 0
    confidence: float = 0.95


def permutation_pvalue(data: Utterances, n_resamples: int, seed: int) -> tuple[float, float]:
    """(observed difference, two-sided p) of the paired permutation test of one comparison: the
    Monte Carlo p of `permutation_pvalues`, or the exact p over all 2**N' swaps when that is no
    more than `n_resamples` (N': the clusters where A and B differ)."""
    delta = data.hb - data.ha
    moving = delta[np.any(delta != 0, axis=1)]
    n = moving.shape[0]
    if n == 0 or n > 20 or 2**n > n_resamples:
        diffs, ps = permutation_pvalues(
            swap_kinds(data), data.num_classes, data.metric, data.components, n_resamples,
            np.random.default_rng(seed),
        )  # fmt: skip
        return float(diffs[0]), float(ps[0])
    base_a, base_b = data.ha.sum(axis=0), data.hb.sum(axis=0)
    exact = dataclasses.replace(data, ha=np.zeros_like(moving), hb=moving)
    codes = (np.arange(2**n)[:, None] >> np.arange(n)) & 1
    null = diff_from_swaps(exact, codes, base_a, base_b)
    observed = float(null[0])
    if observed == 0:
        return observed, 1.0
    tol = 1e-12 * max(1.0, abs(observed))
    return observed, float(np.count_nonzero(np.abs(null) >= abs(observed) - tol) / codes.shape[0])


@STAT_TESTS.register("permutation", config=PermutationConfig)
def paired_permutation(config: PermutationConfig, data: Utterances) -> StatResult:
    """Permutation test of metric(A) - metric(B); effect = that difference."""
    n = data.ha.shape[0]
    observed, p = permutation_pvalue(data, config.n_resamples, config.seed)
    ci = (math.nan, math.nan)
    if config.confidence > 0:
        _, boot = _bootstrap(data, config.n_resamples, config.seed, config.confidence)
        ci = (float(boot.confidence_interval.low), float(boot.confidence_interval.high))
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

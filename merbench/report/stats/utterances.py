"""Utterance-level tests: from per-utterance predictions pooled over seeds (and folds); one
utterance of one split is a cluster whose seeds stay together (`Utterances`).

``bootstrap`` (paired bootstrap of the metric difference), ``permutation`` (paired permutation: the
two configurations' predictions of an utterance are swapped), ``mcnemar`` (exact McNemar on
per-utterance correctness; with several seeds, the sign test on seed-averaged correctness
differences, which is exactly McNemar with one seed). Effect: the metric difference. scipy is
imported inside the functions (the CLI imports this package).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from merbench.registry import STAT_TESTS
from merbench.report.stats.counts import diff_from_swaps, diff_from_weights
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
    observed = float(diff_from_swaps(data, np.zeros(n)))

    def statistic(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
        # x holds cluster indices 0..N-1 where A stays A and N..2N-1 where it was swapped with B
        swap = (np.asarray(x) >= n).astype(float)
        return diff_from_swaps(data, swap)

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

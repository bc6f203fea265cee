"""The paired permutation test's core, vectorised over a batch of comparisons.

Under the null that A and B are exchangeable on every utterance cluster, a resample swaps A's and
B's predictions of each cluster with probability 1/2. Clusters where A and B agree do not move the
statistic; clusters with the same difference of confusion counts are interchangeable, so a resample
moves a Binomial(n_k, 1/2) number of the n_k clusters of each distinct difference k (`SwapKinds`).
One resample then costs the number of distinct differences, not of utterances, and many
comparisons run as one array computation (`permutation_pvalues`): the table's test of one pair
(`merbench.report.stats.utterances.paired_permutation`) and the calibration tests of thousands.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from merbench.report.stats.counts import metric_from_counts
from merbench.report.stats.results import Utterances


@dataclass(frozen=True)
class SwapKinds:
    """A batch of T comparisons: per comparison the distinct count differences B - A of its
    clusters ``kinds [T, P, C*C]`` (zero-padded), how many clusters have each ``sizes [T, P]``,
    and the unswapped confusion counts of A and B ``base_a``, ``base_b [T, C*C]``."""

    kinds: np.ndarray
    sizes: np.ndarray
    base_a: np.ndarray
    base_b: np.ndarray


def row_keys(rows: np.ndarray) -> np.ndarray:
    """An integer key per row of small integer counts ``[N, K]``: equal rows get equal keys;
    distinct rows collide with probability about 2**-64 per pair (fixed random 64-bit weights,
    arithmetic modulo 2**64)."""
    weights = np.random.default_rng(20031).integers(1, 2**63 - 1, size=rows.shape[1])
    with np.errstate(over="ignore"):
        return np.rint(rows).astype(np.int64) @ weights


def swap_kinds(data: Utterances) -> SwapKinds:
    """The `SwapKinds` (T = 1) of one comparison."""
    delta = data.hb - data.ha
    moving = delta[np.any(delta != 0, axis=1)]
    _, first, sizes = np.unique(row_keys(moving), return_index=True, return_counts=True)
    return SwapKinds(moving[first][None], sizes[None], data.ha.sum(axis=0)[None],
                     data.hb.sum(axis=0)[None])  # fmt: skip


def permutation_pvalues(
    batch: SwapKinds,
    num_classes: int,
    metric: str,
    components: Sequence[str] = (),
    n_resamples: int = 2000,
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(observed metric(A) - metric(B) ``[T]``, two-sided Monte Carlo p ``[T]``): ``p = (1 +
    #{|d*| >= |d|}) / (B + 1)`` over `n_resamples` random swaps; p = 1 when the observed
    difference is 0."""
    rng = rng or np.random.default_rng(0)

    def diff(moved: np.ndarray) -> np.ndarray:
        a = metric_from_counts(batch.base_a[:, None] + moved, num_classes, metric, components)
        b = metric_from_counts(batch.base_b[:, None] - moved, num_classes, metric, components)
        return a - b

    observed = diff(np.zeros_like(batch.base_a)[:, None])[:, 0]
    swaps = rng.binomial(batch.sizes[:, None, :], 0.5, size=(*batch.sizes.shape[:1],
                         n_resamples, batch.sizes.shape[1]))  # fmt: skip
    null = diff(np.matmul(swaps.astype(float), batch.kinds))  # [T, B]
    tol = 1e-12 * np.maximum(1.0, np.abs(observed))
    extreme = np.count_nonzero(np.abs(null) >= (np.abs(observed) - tol)[:, None], axis=1)
    p = np.where(observed == 0, 1.0, (1 + extreme) / (n_resamples + 1))
    return observed, p

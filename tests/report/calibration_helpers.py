"""Simulated tables for the calibration and power tests: unit values ``[T, S, K, R]`` (table,
split, seed, row) of configurations equal in distribution, in the layouts merbench tables have."""

from __future__ import annotations

import numpy as np

from merbench.report.stats import Utterances, metric_from_counts

# MELD's test set: 2,610 utterances; neutral, joy, surprise, anger, sadness, disgust, fear
MELD_TEST = np.array([1256, 402, 281, 345, 208, 68, 50])


def fold_tables(
    rng: np.random.Generator, n_tables: int, rho: float = 0.2, rows: int = 3, shift: float = 0.0
) -> np.ndarray:
    """5 folds x 3 seeds: fold difficulty shared by all rows; a row x fold effect whose seed-averaged
    fold differences between two rows are equicorrelated across folds with `rho` (folds share
    training data); seed noise. Row 1 is better by `shift` (0: the null). ``[T, 5, 3, rows]``."""
    folds, seeds, var = 5, 3, 1e-4  # var: variance of a row's seed-averaged fold effect
    noise = 0.01  # seed-to-seed SD within a fold
    shared = rng.normal(0, np.sqrt(rho * var), size=(n_tables, 1, 1, rows))
    own = np.sqrt((1 - rho) * var - noise**2 / seeds)
    effect = rng.normal(0, own, size=(n_tables, folds, 1, rows))
    difficulty = rng.normal(0.6, 0.03, size=(n_tables, folds, 1, 1))
    values = (
        difficulty + shared + effect + rng.normal(0, noise, size=(n_tables, folds, seeds, rows))
    )
    values[..., 1] += shift
    return values


def fold_difference_sd(rho: float = 0.2) -> float:
    """The SD (over folds, within a table) of the seed-averaged difference of two rows of
    `fold_tables`: what the t-test's sd estimates, sqrt((1 - rho) * 2 var)."""
    return float(np.sqrt((1 - rho) * 2e-4))


def _draw(rng: np.random.Generator, size: tuple[int, ...] | int, cum: np.ndarray) -> np.ndarray:
    return np.searchsorted(cum, rng.random(size, dtype=np.float32)).astype(np.int8)


def meld_predictions(
    rng: np.random.Generator, n_tables: int, runs: int, quality_sd: float = 0.05,
    scale: float = 1.0,
) -> tuple:  # fmt: skip
    """MELD-like predictions of `runs` runs per table on MELD's test set: a consensus prediction per
    utterance (right for 60%, else a class drawn in MELD's proportions); each run re-draws 22% of
    the utterances, right with its own probability (mean 0.45, SD `quality_sd` between runs), so
    that two runs disagree on about 20% of the utterances and, with the default SD, the WF1 of a
    seed varies by about 1 point (SD) around its configuration's.
    `scale` < 1 shrinks the test set in the same proportions. Returns (labels ``[N]``,
    predictions ``[T, runs, N]``), classes 0..6."""
    sizes = np.maximum(1, np.rint(MELD_TEST * scale)).astype(int)
    c, n = sizes.size, int(sizes.sum())
    labels = np.repeat(np.arange(c), sizes).astype(np.int8)
    cum = np.cumsum(sizes / n).astype(np.float32)
    right = rng.random((n_tables, n), dtype=np.float32) < 0.6
    consensus = np.where(right, labels, _draw(rng, (n_tables, n), cum))
    preds = np.repeat(consensus[:, None, :], runs, axis=1)
    t, r, u = np.nonzero(rng.random((n_tables, runs, n), dtype=np.float32) < 0.22)
    hit = (
        rng.random(t.size, dtype=np.float32) < rng.normal(0.45, quality_sd, (n_tables, runs))[t, r]
    )
    preds[t, r, u] = np.where(hit, labels[u], _draw(rng, t.size, cum))
    return labels, preds


def run_counts(labels: np.ndarray, preds: np.ndarray, c: int = 7) -> np.ndarray:
    """Confusion counts ``[..., c*c]`` (true * c + predicted) of each run of ``preds [..., N]``."""
    lead = preds.shape[:-1]
    codes = (labels * c + preds).astype(np.int64).reshape(-1, preds.shape[-1])
    codes += (c * c * np.arange(codes.shape[0]))[:, None]
    flat = np.bincount(codes.ravel(), minlength=codes.shape[0] * c * c)
    return flat.reshape(*lead, c * c).astype(float)


def meld_seed_tables(rng: np.random.Generator, n_tables: int, rows: int = 3) -> np.ndarray:
    """One split x 3 seeds: the WF1 of each run of `meld_predictions`, ``[T, 1, 3, rows]``."""
    labels, preds = meld_predictions(rng, n_tables, 3 * rows)
    wf1 = metric_from_counts(run_counts(labels, preds), 7, "wf1")  # [T, 3 * rows]
    return wf1.reshape(n_tables, 1, rows, 3).transpose(0, 1, 3, 2)


def utterances_of(labels: np.ndarray, pred_a: np.ndarray, pred_b: np.ndarray) -> Utterances:
    """The `Utterances` of two one-seed runs (one cluster per utterance), scored on WF1."""
    c = 7
    ha = np.zeros((labels.size, c * c))
    hb = np.zeros((labels.size, c * c))
    ha[np.arange(labels.size), labels * c + pred_a] = 1
    hb[np.arange(labels.size), labels * c + pred_b] = 1
    return Utterances(ha, hb, (pred_a == labels) * 1.0, (pred_b == labels) * 1.0, c, "wf1")


def one_seed_swap_kinds(labels: np.ndarray, pred_a: np.ndarray, pred_b: np.ndarray, c: int = 7):
    """The `SwapKinds` of comparisons of one-seed runs, ``pred_a``, ``pred_b [M, N]``, built
    directly from the utterances where the two runs disagree: a kind is (true, pred A, pred B)."""
    from merbench.report.stats.permutation import SwapKinds

    m = pred_a.shape[0]
    la, pa, pb = (x.astype(np.int64) for x in (labels, pred_a, pred_b))
    code = la * c * c + pa * c + pb
    code = np.where(pred_a != pred_b, code, c**3)  # agreements: a kind that does not move
    sizes = np.bincount((code + (c**3 + 1) * np.arange(m)[:, None]).ravel(),
                        minlength=m * (c**3 + 1)).reshape(m, c**3 + 1)[:, :-1]  # fmt: skip
    kind = np.arange(c**3)
    delta = np.zeros((c**3, c * c))
    delta[kind, (kind // (c * c)) * c + kind % c] += 1  # B's prediction counts for B
    delta[kind, (kind // (c * c)) * c + (kind // c) % c] -= 1
    width = int((sizes > 0).sum(axis=1).max())
    top = np.argsort(-sizes, axis=1, kind="stable")[:, :width]
    base_a = run_counts(labels, pred_a, c)
    base_b = run_counts(labels, pred_b, c)
    return SwapKinds(delta[top], np.take_along_axis(sizes, top, axis=1), base_a, base_b)

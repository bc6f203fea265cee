"""Calibration and power of the marks, through the statistics core that places every † of a table
(`mark_column`, which `compare_rows` calls per column): 1,000 simulated tables per layout.

Calibration: three configurations equal in distribution; a table fails when any row gets a † (the
family-wise error). The rate must stay <= alpha + 2 Monte Carlo SE (0.05 + 2 * 0.0069 = 0.0638), in
best-row mode (the reference is the best row, Holm over all pairs) and in named-reference mode.
Power: one row differs from the reference by the MDE the table states; it must get a † in 80% +- 7
points of the tables. The measured rates are printed (``pytest -s``) for the documentation.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from calibration_helpers import (
    fold_difference_sd,
    fold_tables,
    meld_predictions,
    meld_seed_tables,
    one_seed_swap_kinds,
    run_counts,
    utterances_of,
)
from report_helpers import make_runs

from merbench.report.compare import compare_rows
from merbench.report.power import mde_paired_t, minimum_detectable_difference
from merbench.report.stats import Units, Utterances, metric_from_counts
from merbench.report.stats.family import (
    family_alpha,
    mark_column,
    row_means,
    unit_pvalues,
)
from merbench.report.stats.permutation import permutation_pvalues, swap_kinds
from merbench.report.stats.utterances import PermutationConfig, paired_permutation

ALPHA, TABLES = 0.05, 1000
LIMIT = ALPHA + 2 * math.sqrt(ALPHA * (1 - ALPHA) / TABLES)
FOLD_RATIO = 1 / 4  # n_test / n_train of 5 folds, what compare_rows uses for a 5-fold corpus
MODES = {"best-row": None, "named reference": 0}


def family_wise_rate(values: np.ndarray, pvalues, reference: int | None) -> float:
    marks = mark_column(row_means(values), pvalues, reference=reference, alpha=ALPHA)
    return float(marks.marked.any(axis=1).mean())


@pytest.mark.parametrize("mode", MODES)
def test_folds_with_correlated_fold_effects_keep_the_false_mark_rate(mode: str) -> None:
    values = fold_tables(np.random.default_rng(1), TABLES, rho=0.2)
    rate = family_wise_rate(values, unit_pvalues(values, FOLD_RATIO), MODES[mode])
    plain = family_wise_rate(values, unit_pvalues(values, 0.0), MODES[mode])
    print(f"\n5 folds x 3 seeds, rho 0.2, {mode}: corrected {rate:.3f}, plain t-test {plain:.3f}")
    assert rate <= LIMIT


@pytest.mark.parametrize("mode", MODES)
def test_one_split_with_three_seeds_meld_like_keeps_the_false_mark_rate(mode: str) -> None:
    values = meld_seed_tables(np.random.default_rng(2), TABLES)
    sd = float(np.sqrt(values.var(axis=2, ddof=1).mean()))
    assert 0.007 < sd < 0.013  # the layout's seed-to-seed SD of WF1: about 1 point
    rate = family_wise_rate(values, unit_pvalues(values), MODES[mode])
    print(f"\none split x 3 seeds (MELD-like, WF1 seed SD {100 * sd:.2f}), {mode}: {rate:.3f}")
    assert rate <= LIMIT


def test_one_split_with_one_seed_keeps_the_false_mark_rate_in_both_modes() -> None:
    # one seed: the test compares trained models, so its null is two trained models exchangeable
    # on every utterance (runs of equal quality that still disagree on about 20% of utterances).
    # A fifth of MELD's test set in its proportions (522 utterances), 200 resamples per test.
    rng = np.random.default_rng(3)
    labels, preds = meld_predictions(rng, TABLES, 3, quality_sd=0.0, scale=0.2)
    wf1 = metric_from_counts(run_counts(labels, preds), 7, "wf1")  # [T, 3]
    cached: dict[tuple[int, int], np.ndarray] = {}

    def pvalues(pairs: list[tuple[int, int]]) -> np.ndarray:
        for i, j in pairs:
            if (i, j) not in cached:
                batch = one_seed_swap_kinds(labels, preds[:, i], preds[:, j])
                cached[(i, j)] = permutation_pvalues(batch, 7, "wf1", (), 200, rng)[1]
        return np.stack([cached[q] for q in pairs], axis=1)

    for mode, reference in MODES.items():
        marks = mark_column(wf1, pvalues, reference=reference, alpha=ALPHA)
        rate = float(marks.marked.any(axis=1).mean())
        print(f"\none split x 1 seed (MELD-like, permutation), {mode}: {rate:.3f}")
        assert rate <= LIMIT


def test_pooling_seeds_in_the_utterance_test_is_why_seeds_are_the_unit() -> None:
    # the one-split x 3-seed layout tested as before: the permutation test over utterances with
    # the seeds of each utterance pooled, two identical configurations (300 tables)
    labels, preds = meld_predictions(np.random.default_rng(10), 300, 6)  # A: runs 0-2, B: 3-5
    n, marked = labels.size, 0
    config = PermutationConfig(n_resamples=200, confidence=0)
    for t in range(preds.shape[0]):
        counts = [np.zeros((n, 49)), np.zeros((n, 49))]
        for run in range(6):
            counts[run // 3][np.arange(n), labels * 7 + preds[t, run]] += 1
        right = preds[t] == labels
        data = Utterances(*counts, right[:3].mean(0), right[3:].mean(0), 7, "wf1")
        config.seed = t
        marked += paired_permutation(config, data).p_value <= ALPHA
    rate = marked / preds.shape[0]
    print(f"\none split x 3 seeds (MELD-like), utterance test with seeds pooled: {rate:.3f}")
    assert rate > 3 * ALPHA  # training variance ignored: far above alpha


def test_swap_kinds_of_one_seed_runs_are_those_of_the_tables_permutation_test() -> None:
    labels, preds = meld_predictions(np.random.default_rng(8), 3, 2, scale=0.2)
    batch = one_seed_swap_kinds(labels, preds[:, 0], preds[:, 1])
    for t in range(3):
        data = utterances_of(labels, preds[t, 0], preds[t, 1])
        table = swap_kinds(data)  # what paired_permutation runs on

        def kinds_of(kinds: np.ndarray, sizes: np.ndarray) -> dict[bytes, int]:
            return {k.tobytes(): int(n) for k, n in zip(kinds, sizes, strict=True) if n}

        assert kinds_of(batch.kinds[t], batch.sizes[t]) == kinds_of(table.kinds[0], table.sizes[0])
        assert np.array_equal(batch.base_a[t], table.base_a[0])
        assert np.array_equal(batch.base_b[t], table.base_b[0])


# ---------------------------------------------------------------------------------------- power
def dagger_rate_at(values: np.ndarray, ratio: float) -> float:
    """Share of tables where row 1 gets a † against the named reference row 0."""
    marks = mark_column(row_means(values), unit_pvalues(values, ratio), reference=0, alpha=ALPHA)
    return float(marks.marked[:, 1].mean())


def test_folds_dagger_rate_at_the_stated_mde_is_80_percent() -> None:
    # the MDE compare_rows states for a comparison whose fold differences have the layout's SD
    # (family of 2 comparisons against the named reference: raw p at alpha / 2)
    level = family_alpha(ALPHA, 2, "holm")
    d = np.array([1.0, -1.0, 1.0, -1.0, 0.0]) * fold_difference_sd()
    assert float(np.std(d, ddof=1)) == pytest.approx(fold_difference_sd())
    mde = minimum_detectable_difference("corrected", Units(d, 0 * d, FOLD_RATIO), level)
    sd = fold_difference_sd() * math.sqrt(1 + 5 * FOLD_RATIO)
    assert mde == pytest.approx(mde_paired_t(sd, 5, ALPHA / 2))
    values = fold_tables(np.random.default_rng(4), TABLES, rho=0.2, shift=mde)
    rate = dagger_rate_at(values, FOLD_RATIO)
    sd_points = 100 * fold_difference_sd()
    print(
        f"\n5 folds x 3 seeds: fold-difference SD {sd_points:.2f}, MDE {100 * mde:.2f} points, dagger rate {rate:.3f}"
    )
    assert rate == pytest.approx(0.8, abs=0.07)


def test_one_split_seeds_dagger_rate_at_the_stated_mde_is_80_percent() -> None:
    null = meld_seed_tables(np.random.default_rng(5), TABLES)
    diff = null[:, 0, :, 1] - null[:, 0, :, 0]  # seed differences of two rows
    sd = float(np.sqrt(diff.var(axis=1, ddof=1).mean()))  # their SD, what the t-test estimates
    mde = mde_paired_t(sd, 3, family_alpha(ALPHA, 2, "holm"))
    values = null.copy()  # the SD is a property of 3,000 seed pairs: reusing them is harmless
    values[..., 1] += mde
    rate = dagger_rate_at(values, 0.0)
    print(
        f"\none split x 3 seeds: seed-difference SD {100 * sd:.2f}, MDE {100 * mde:.2f} WF1 points, dagger rate {rate:.3f}"
    )
    assert rate == pytest.approx(0.8, abs=0.07)


# ------------------------------------------------------------------ the table runs the same core
def test_compare_rows_places_the_marks_of_the_core_on_simulated_tables() -> None:
    values = fold_tables(np.random.default_rng(7), 12, rho=0.2, shift=0.02)
    names = ["A", "B", "C"]
    for t in range(values.shape[0]):
        table = {
            name: {(str(f + 1), k): {"ua": float(values[t, f, k, r])}
                   for f in range(5) for k in range(3)}
            for r, name in enumerate(names)
        }  # fmt: skip
        runs = make_runs(table)
        for reference, index in (("best", None), ("A", 0)):
            out, plans = compare_rows(runs, metrics={"synth": ["ua"]}, reference=reference)
            assert plans["synth"].test == "corrected"
            marks = mark_column(
                row_means(values[t : t + 1]), unit_pvalues(values[t : t + 1], FOLD_RATIO),
                reference=index, alpha=ALPHA,
            )  # fmt: skip
            expected = {names[r] for r in np.flatnonzero(marks.marked[0])}
            assert set(out.loc[out["significant"], "row"]) == expected

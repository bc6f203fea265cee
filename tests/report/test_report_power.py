"""The minimum detectable difference, checked against brute-force power simulations."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from merbench.report.power import (
    mde_paired_t,
    minimum_detectable_difference,
    resolution_sentence,
)
from merbench.report.stats import Units, Utterances
from merbench.report.stats.utterances import PermutationConfig, paired_permutation


def test_paired_t_mde_has_80_percent_power_in_a_brute_force_simulation():
    n, sd, alpha = 5, 0.03, 0.05
    mde = mde_paired_t(sd, n, alpha)
    # textbook check: (t_{.975,4} + t_{.8,4}) * sd / sqrt(n) is the usual approximation
    assert mde == pytest.approx((2.776 + 0.941) * sd / math.sqrt(n), rel=0.06)
    from scipy import stats

    rng = np.random.default_rng(0)
    d = rng.normal(mde, sd, size=(20000, n))
    t = d.mean(1) / (d.std(1, ddof=1) / math.sqrt(n))
    p = 2 * stats.t.sf(np.abs(t), n - 1)
    power = float((p <= alpha).mean())
    assert power == pytest.approx(0.8, abs=0.015)  # SE of the simulated rate: 0.003


def test_units_mde_uses_the_observed_sd_of_the_paired_differences():
    a = np.array([0.60, 0.62, 0.58, 0.65, 0.61])
    b = np.array([0.58, 0.63, 0.55, 0.61, 0.60])
    sd = float(np.std(a - b, ddof=1))
    mde = minimum_detectable_difference("ttest", Units(a, b), 0.05)
    assert mde == pytest.approx(mde_paired_t(sd, 5, 0.05))
    # the signed-rank test over 5 units cannot reach 0.05 at all (smallest p 0.0625)
    assert math.isinf(minimum_detectable_difference("wilcoxon", Units(a, b), 0.05))
    six = Units(np.append(a, 0.6), np.append(b, 0.59))
    sd6 = float(np.std(six.a - six.b, ddof=1))
    assert minimum_detectable_difference("wilcoxon", six, 0.05) == pytest.approx(
        mde_paired_t(sd6, 6, 0.05) / math.sqrt(3 / math.pi)
    )


def correctness_utterances(correct_a: np.ndarray, correct_b: np.ndarray) -> Utterances:
    """Two classes, every true label 0: a correct prediction is 0, a wrong one 1; metric wa."""

    def counts(correct):
        h = np.zeros((correct.size, 4))
        h[np.arange(correct.size), np.where(correct, 0, 1)] = 1  # (true 0, pred 0|1)
        return h

    return Utterances(counts(correct_a), counts(correct_b), correct_a.astype(float),
                      correct_b.astype(float), 2, "wa")  # fmt: skip


def test_permutation_mde_has_about_80_percent_power_in_a_brute_force_simulation():
    # 400 utterances, 30% discordant (one configuration right, the other wrong), no difference
    n, discordant = 400, 120
    b = np.zeros(n, bool)
    b[: n // 2] = True
    a = b.copy()
    a[:discordant] = ~a[:discordant]  # 60 lose, 60 gain
    mde = minimum_detectable_difference("permutation", correctness_utterances(a, b), 0.05)
    # normal approximation: the swap SD of the accuracy difference is sqrt(120) / 400
    assert mde == pytest.approx((1.95996 + 0.84162) * math.sqrt(discordant) / n, rel=0.05)
    # simulate data whose true difference is the MDE: discordant with p 0.3, A the better one
    # with probability 1/2 + mde / (2 * 0.3); run the real permutation test
    rng = np.random.default_rng(1)
    favour = 0.5 + mde / (2 * discordant / n)
    hits, sims = 0, 300
    config = PermutationConfig(n_resamples=500, confidence=0)
    for _ in range(sims):
        disc = rng.random(n) < discordant / n
        a_better = rng.random(n) < favour
        sim_b = rng.random(n) < 0.5
        sim_b = np.where(disc, ~a_better, sim_b)
        sim_a = np.where(disc, a_better, sim_b)
        hits += paired_permutation(config, correctness_utterances(sim_a, sim_b)).p_value <= 0.05
    assert hits / sims == pytest.approx(0.8, abs=0.08)  # SE 0.023, plus the approximation


def test_resolution_sentence_gives_each_columns_median_mde_in_points():
    comparisons = pd.DataFrame({
        "dataset": ["synth"] * 4, "metric": ["ua", "ua", "ua", "wa"],
        "mde": [0.041, 0.050, 0.062, math.inf],
    })  # fmt: skip
    text = resolution_sentence(comparisons, {("synth", "ua"): "UA", ("synth", "wa"): "WA"}, 0.05)
    assert text.startswith("Resolution: differences below UA 5.0, WA unreachable points")
    assert "earns a † with 80% power under the test and its correction" in text
    assert "raw p at α / m for a family of m comparisons, Holm's first step; α = 0.05" in text
    levels = comparisons.assign(mde_alpha=[0.025, 0.025, 0.025, 0.05])
    text = resolution_sentence(levels, {("synth", "ua"): "UA", ("synth", "wa"): "WA"}, 0.05)
    assert text.startswith("Resolution: differences below UA 5.0 (p ≤ 0.025), WA unreachable")
    assert resolution_sentence(comparisons.iloc[0:0], {}, 0.05) == ""


@pytest.mark.parametrize("n", [2, 3, 4])
def test_paired_t_mde_has_80_percent_power_with_few_units_and_a_corrected_level(n: int) -> None:
    # few degrees of freedom and a small level (alpha / 2 after Holm) reach the far tail of the
    # noncentral t, where scipy returns NaN for the negligible lower tail
    from scipy import stats

    mde = mde_paired_t(1.0, n, 0.025)
    d = np.random.default_rng(n).normal(mde, 1.0, size=(40000, n))
    t = d.mean(1) / (d.std(1, ddof=1) / math.sqrt(n))
    power = float((2 * stats.t.sf(np.abs(t), n - 1) <= 0.025).mean())
    assert power == pytest.approx(0.8, abs=0.01)  # SE of the simulated rate: 0.002

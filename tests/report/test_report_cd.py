"""Critical-difference diagram: average ranks, Friedman and the Nemenyi CD against the worked
example of Demšar (2006), "Statistical Comparisons of Classifiers over Multiple Data Sets", JMLR 7,
section 3.2.2 and Table 6 (AUC of four C4.5 variants on 14 UCI data sets)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from report_helpers import make_runs

from merbench.errors import UserError
from merbench.report.cd import block_scores, cd_summary, critical_difference, plot_cd_files

NAMES = ["C4.5", "C4.5+m", "C4.5+cf", "C4.5+m+cf"]
# Table 6 of Demšar (2006). On "voting" the paper prints 0.975 for both C4.5+cf and C4.5+m+cf but
# ranks them 2 and 3 (the unrounded AUCs differ): 0.9749 reproduces its ranks.
TABLE6 = [
    [0.763, 0.768, 0.771, 0.798], [0.599, 0.591, 0.590, 0.569], [0.954, 0.971, 0.968, 0.967],
    [0.628, 0.661, 0.654, 0.657], [0.882, 0.888, 0.886, 0.898], [0.936, 0.931, 0.916, 0.931],
    [0.661, 0.668, 0.609, 0.685], [0.583, 0.583, 0.563, 0.625], [0.775, 0.838, 0.866, 0.875],
    [1.000, 1.000, 1.000, 1.000], [0.940, 0.962, 0.965, 0.962], [0.619, 0.666, 0.614, 0.669],
    [0.972, 0.981, 0.975, 0.9749], [0.957, 0.978, 0.946, 0.970],
]  # fmt: skip


def test_demsar_2006_average_ranks_and_critical_difference() -> None:
    scores = pd.DataFrame(TABLE6, columns=NAMES)
    result = critical_difference(scores, alpha=0.05)
    # the paper: average ranks 3.143, 2.000, 2.893, 1.964
    expected = {"C4.5": 3.143, "C4.5+m": 2.000, "C4.5+cf": 2.893, "C4.5+m+cf": 1.964}
    assert result.ranks.to_dict() == pytest.approx(expected, abs=5e-4)
    assert list(result.ranks.index) == ["C4.5+m+cf", "C4.5+m", "C4.5+cf", "C4.5"]
    # CD = 2.569 * sqrt(4 * 5 / (6 * 14)) = 1.25; "even the difference between the best and the
    # worst performing algorithm is already smaller than that"
    assert result.cd == pytest.approx(2.569 * (20 / 84) ** 0.5, abs=1e-3)
    assert round(result.cd, 2) == 1.25
    assert result.significant == []
    assert result.p_value < 0.05  # the paper rejects the null hypothesis (F_F = 3.69 > 2.85)
    # at p = 0.10, CD = 2.291 * sqrt(20 / 84) = 1.12: C4.5 is worse than C4.5+m and C4.5+m+cf,
    # and the data cannot tell which group C4.5+cf belongs to
    at_10 = critical_difference(scores, alpha=0.10)
    assert round(at_10.cd, 2) == 1.12
    assert at_10.significant == [("C4.5+m+cf", "C4.5"), ("C4.5+m", "C4.5")]


def test_ranks_over_folds_of_runs_by_hand(tmp_path: Path) -> None:
    # 3 configurations x 5 folds (1 seed): A wins folds 1-4, B fold 5; C is last but on fold 5
    ua = {
        "A": [0.70, 0.71, 0.72, 0.73, 0.50],
        "B": [0.60, 0.61, 0.62, 0.63, 0.64],
        "C": [0.50, 0.51, 0.52, 0.53, 0.55],
    }
    runs = make_runs({n: {(str(k + 1), 0): {"ua": v[k], "wa": v[k]} for k in range(5)}
                      for n, v in ua.items()})  # fmt: skip
    scores, notes = block_scores(runs, rows=["A", "B", "C"])
    assert list(scores.index) == [f"synth/{k}" for k in range(1, 6)] and notes == ["synth: ua"]
    path, result = plot_cd_files(runs, tmp_path, rows=["A", "B", "C"])
    # A: ranks 1, 1, 1, 1, 3 -> 1.4; B: 2, 2, 2, 2, 1 -> 1.8; C: 3, 3, 3, 3, 2 -> 2.8
    assert result.ranks.to_dict() == pytest.approx({"A": 1.4, "B": 1.8, "C": 2.8})
    # q_0.05 for k = 3 is 2.343 (Demšar's Table 5a): CD = 2.343 * sqrt(3 * 4 / (6 * 5)) = 1.482
    assert result.cd == pytest.approx(2.343 * (12 / 30) ** 0.5, abs=1e-3)
    assert result.significant == []  # 2.8 - 1.4 = 1.4 < 1.482
    assert path.stat().st_size > 5000 and path.read_bytes().startswith(b"\x89PNG")
    assert "1.400  A" in cd_summary(result)


def test_too_few_blocks_or_configurations_is_a_user_error() -> None:
    few = pd.DataFrame([[0.1, 0.2, 0.3]] * 4, columns=list("abc"))
    with pytest.raises(UserError, match="at least 5 blocks"):
        critical_difference(few)
    with pytest.raises(UserError, match="at least 3 configurations"):
        critical_difference(pd.DataFrame([[0.1, 0.2]] * 6, columns=list("ab")))

"""Results under test-time conditions (`merbench table --perturb`): cells, paired differences
from clean and their test recomputed by hand; runs not evaluated under a condition are counted,
never read as finished."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from report_helpers import make_runs
from scipy import stats

from merbench.errors import UserError
from merbench.report.conditions import condition_extras, condition_tables, render_conditions

CLEAN = {"1": 0.70, "2": 0.60, "3": 0.65, "4": 0.80, "5": 0.75}
NOISY = {"1": 0.50, "2": 0.55, "3": 0.40, "4": 0.70, "5": 0.60}
CONDITIONS = [("snr=0:white", "snr0-white"), ("drop=audio", "drop-audio")]


def runs_and_extras(
    done: set[str] | None = None, dropped: dict[str, float] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Configuration A on five folds, seed 0; each run evaluated under ``snr0-white`` (NOISY)
    except the folds outside `done`; under ``drop-audio`` only with `dropped` (its values)."""
    runs = make_runs({"A": {(s, 0): {"ua": v} for s, v in CLEAN.items()}})
    done = set(CLEAN) if done is None else done
    tags = [(["snr0-white"] if s in done else []) + (["drop-audio"] if dropped else [])
            for s in runs["split"]]  # fmt: skip
    frame = pd.DataFrame(
        {
            "run_id": runs["run_id"],
            "tags.merbench.conditions": [json.dumps(t) if t else None for t in tags],
            "tags.merbench.absent_modality": "",
            "metrics.cond/snr0-white/test/ua": [
                NOISY[s] if s in done else math.nan for s in runs["split"]
            ],
            "metrics.cond/drop-audio/test/ua": [
                dropped[s] if dropped else math.nan for s in runs["split"]
            ],
        }
    )
    return runs, condition_extras(frame, "merbench.")


def corrected_p(d: np.ndarray, ratio: float = 1 / 4) -> float:
    """Nadeau and Bengio's corrected resampled t-test over k folds of a corpus of 5 folds
    (n_test/n_train = 1/4, whatever number of them is compared)."""
    k = d.size
    t = d.mean() / math.sqrt(d.var(ddof=1) * (1 / k + ratio))
    return float(2 * stats.t.sf(abs(t), k - 1))


def no_predictions(run_id: str) -> pd.DataFrame:
    raise AssertionError("a test over folds reads no predictions")


def test_difference_and_corrected_test_over_folds_match_a_hand_computation() -> None:
    runs, extras = runs_and_extras()
    [table] = condition_tables(runs, extras, CONDITIONS, no_predictions)
    d = np.array([NOISY[s] - CLEAN[s] for s in CLEAN])  # -0.20 -0.05 -0.25 -0.10 -0.15
    k = d.size
    t = d.mean() / math.sqrt(d.var(ddof=1) * (1 / k + 1 / (k - 1)))  # Nadeau-Bengio, ratio 1/4
    p = 2 * stats.t.sf(abs(t), k - 1)
    diff, p_adjusted, significant = table.diffs[("snr=0:white", "A")]
    assert diff == pytest.approx(-0.15)
    assert p_adjusted == pytest.approx(p)  # one condition tested: Holm leaves it as it is
    assert significant == (p < 0.05)
    mean, std, units = table.cells[("snr=0:white", "A")]
    assert (mean, units) == (pytest.approx(0.55), 5)
    assert std == pytest.approx(np.std(list(NOISY.values()), ddof=1))
    assert table.cells[("clean", "A")][0] == pytest.approx(0.70)
    assert "corrected resampled t-test over 5 folds" in table.caption
    md = render_conditions([table], "md")
    assert f"| snr=0:white | A | 55.0 ± {100 * std:.1f} | -15.0{'†' if p < 0.05 else ''} |" in md


def test_runs_not_evaluated_under_a_condition_are_counted_not_read() -> None:
    runs, extras = runs_and_extras(done={"1", "2", "3"})
    [table] = condition_tables(runs, extras, CONDITIONS, no_predictions)
    assert table.cells[("snr=0:white", "A")][2] == 3
    assert table.diffs[("snr=0:white", "A")][0] == pytest.approx((-0.20 - 0.05 - 0.25) / 3)
    assert table.missing == {"snr=0:white": 2, "drop=audio": 5}
    assert "Not evaluated: snr=0:white on 2 runs, drop=audio on 5 runs" in table.caption
    md = render_conditions([table], "md")
    assert "| drop=audio | A | - |  |  | 0 |" in md


def test_csv_has_one_line_per_condition_and_row_and_latex_is_refused() -> None:
    runs, extras = runs_and_extras()
    tables = condition_tables(runs, extras, CONDITIONS, no_predictions)
    frame = pd.read_csv(pd.io.common.StringIO(render_conditions(tables, "csv")))
    assert list(frame["condition"]) == ["clean", "snr=0:white", "drop=audio"]
    assert frame.loc[1, "diff"] == pytest.approx(-0.15)
    with pytest.raises(UserError, match="--perturb has no --format latex"):
        render_conditions(tables, "latex")


def test_test_none_shows_the_differences_without_p() -> None:
    runs, extras = runs_and_extras()
    [table] = condition_tables(runs, extras, CONDITIONS, no_predictions, test="none")
    diff, p, significant = table.diffs[("snr=0:white", "A")]
    assert diff == pytest.approx(-0.15) and math.isnan(p) and not significant
    assert "p: no test (--test none)" in table.caption


def test_each_condition_is_tested_on_its_own_units_then_holm_corrected() -> None:
    dropped = {"1": 0.30, "2": 0.35, "3": 0.20, "4": 0.45, "5": 0.40}
    runs, extras = runs_and_extras(done={"1", "2", "3"}, dropped=dropped)
    [table] = condition_tables(runs, extras, CONDITIONS, no_predictions)
    p_snr = corrected_p(np.array([NOISY[s] - CLEAN[s] for s in ("1", "2", "3")]))  # 3 folds
    p_drop = corrected_p(np.array([dropped[s] - CLEAN[s] for s in CLEAN]))  # 5 folds
    low, high = sorted([p_snr, p_drop])
    holm = {low: min(1.0, 2 * low), high: max(min(1.0, 2 * low), high)}  # step-down, by hand
    assert table.diffs[("snr=0:white", "A")][1] == pytest.approx(holm[p_snr])
    assert table.diffs[("drop=audio", "A")][1] == pytest.approx(holm[p_drop])
    assert table.diffs[("drop=audio", "A")][0] == pytest.approx(-0.36)
    assert "over 3 folds" in table.caption and "over 5 folds" in table.caption

"""Significance tests: hand-computed values, planted differences, and the false-mark rate under
the null hypothesis."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from report_helpers import make_runs, protocol_json

from merbench.data.metrics import compute_metrics
from merbench.errors import UserError
from merbench.registry import STAT_TESTS, build
from merbench.report.compare import compare_rows, utterances_for
from merbench.report.stats import (
    FAST_METRICS,
    Units,
    choose_test,
    holm,
    metric_from_counts,
    min_wilcoxon_p,
)
from merbench.report.view import build_view


def test_holm_matches_hand_computation() -> None:
    # sorted p: 0.005*4 = 0.02; 0.01*3 = 0.03; 0.03*2 = 0.06; 0.04*1 = 0.04 -> max(0.06, 0.04)
    adjusted = holm([0.01, 0.04, 0.03, 0.005])
    assert adjusted == pytest.approx([0.03, 0.06, 0.06, 0.02])
    with_nan = holm([0.02, math.nan, 0.5])  # NaN is not a hypothesis: m = 2
    assert with_nan[0] == pytest.approx(0.04) and math.isnan(with_nan[1])
    assert with_nan[2] == pytest.approx(0.5)
    assert holm([0.3, 0.04]) == pytest.approx([0.3, 0.08])
    assert holm([0.9, 0.8]) == pytest.approx([1.0, 1.0])  # 0.8 * 2 capped at 1; monotone


def test_paired_ttest_matches_hand_computation() -> None:
    # d = (0.1, 0.2, 0.3): mean 0.2, sd 0.1, t = 0.2 / (0.1 / sqrt 3) = 2 sqrt 3, df 2;
    # for df 2, P(T > t) = 1/2 - t / (2 sqrt(t^2 + 2)) -> p = 1 - t / sqrt(t^2 + 2) = 1 - sqrt(12/14)
    res = build("stat_tests", "ttest", Units(np.array([0.6, 0.7, 0.8]), np.array([0.5] * 3)))
    assert res.statistic == pytest.approx(2 * math.sqrt(3))
    assert res.p_value == pytest.approx(1 - math.sqrt(12 / 14))
    assert res.effect == pytest.approx(2.0) and res.effect_name == "d_z"
    assert res.diff == pytest.approx(0.2)


def test_wilcoxon_minimum_p_and_rank_biserial_by_hand() -> None:
    b = np.zeros(5)
    res = build("stat_tests", "wilcoxon", Units(np.array([1.0, 2, 3, 4, 5]), b))
    assert res.p_value == pytest.approx(0.0625) == min_wilcoxon_p(5)
    assert res.effect == pytest.approx(1.0)
    # ranks 1..5, negative rank 2: T+ = 13, T- = 2 -> r = 11 / 15
    res = build("stat_tests", "wilcoxon", Units(np.array([1.0, -2, 3, 4, 5]), b))
    assert res.effect == pytest.approx(11 / 15)
    assert min_wilcoxon_p(6) == pytest.approx(0.03125)


def predictions_frame(labels: list[str], preds: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"id": [f"u{i}" for i in range(len(labels))], "label": labels,
                         "prediction": preds})  # fmt: skip


def test_mcnemar_matches_hand_computation() -> None:
    # 20 utterances: both right on 5, A right / B wrong on 10 (b), A wrong / B right on 2 (c),
    # both wrong on 3. Exact two-sided p = 2 * P(X <= 2 | n = 12, 1/2) = 2 * 79 / 4096.
    labels = ["happy"] * 20
    a = ["happy"] * 15 + ["sad"] * 5
    b = ["happy"] * 5 + ["sad"] * 10 + ["happy"] * 2 + ["sad"] * 3
    frames = {"a": predictions_frame(labels, a), "b": predictions_frame(labels, b)}
    data = utterances_for([("test", "a", "b")], frames.__getitem__, "wa", ())
    res = build("stat_tests", "mcnemar", data)
    assert (res.statistic, res.n) == (10.0, 20)
    assert res.p_value == pytest.approx(158 / 4096)
    assert res.diff == pytest.approx((15 - 7) / 20)


def test_mcnemar_with_seeds_is_the_sign_test_on_seed_averaged_correctness() -> None:
    labels = ["a", "b", "a", "b"]
    frames = {
        "a0": predictions_frame(labels, ["a", "b", "a", "a"]),
        "a1": predictions_frame(labels, ["a", "a", "a", "a"]),
        "b0": predictions_frame(labels, ["b", "b", "b", "a"]),
        "b1": predictions_frame(labels, ["a", "a", "b", "a"]),
    }
    data = utterances_for([("t", "a0", "b0"), ("t", "a1", "b1")], frames.__getitem__, "wa", ())
    # seed-averaged correctness A: 1, .5, 1, 0; B: .5, .5, 0, 0 -> d = .5, 0, 1, 0: b = 2, c = 0
    assert data.correct_a == pytest.approx([1, 0.5, 1, 0])
    res = build("stat_tests", "mcnemar", data)
    assert res.statistic == 2.0 and res.p_value == pytest.approx(0.5)


def test_count_based_metrics_equal_the_metric_registry() -> None:
    rng = np.random.default_rng(3)
    for _ in range(5):
        y = rng.integers(0, 5, size=80)
        p = np.where(rng.random(80) < 0.5, y, rng.integers(0, 6, size=80))  # class 5 never true
        counts = np.bincount(y * 6 + p, minlength=36).astype(float)
        names = [m for m in FAST_METRICS if m != "avg"]
        expected = compute_metrics(y, p, 6, [*names, "avg"])
        for m in names:
            assert metric_from_counts(counts, 6, m) == pytest.approx(expected[m]), m
        assert metric_from_counts(counts, 6, "avg", names) == pytest.approx(expected["avg"])


def test_choose_test_rules() -> None:
    # folds: the corrected resampled t-test, whatever the seeds and predictions
    assert choose_test(5, 5, True, 5)[0] == "corrected"  # IEMOCAP 5 folds
    assert choose_test(5, 3, True, 5)[0] == "corrected"
    assert choose_test(2, 2, False, 5)[0] == "corrected"  # 2 of 5 folds: still folds
    # one fold of a fold corpus is not an official split: no default test
    test, reason = choose_test(1, 3, True, 5)
    assert test is None and reason.startswith("1 of 5 folds cannot support a test")
    # one official split: seeds are the unit from 2 seeds on; one seed: utterances
    assert choose_test(1, 3, True, 1)[0] == "ttest"  # MELD, 3 seeds
    assert choose_test(1, 2, False, 1)[0] == "ttest"
    assert choose_test(1, 1, True, 1)[0] == "permutation"
    assert choose_test(1, 1, False, 1)[0] is None
    assert set(STAT_TESTS.names()) >= {
        "corrected", "ttest", "wilcoxon", "bootstrap", "permutation", "mcnemar"
    }  # fmt: skip


def test_corrected_ttest_matches_hand_computation() -> None:
    # d = (0.1, 0.2, 0.3): mean 0.2, sd 0.1; corrected se = 0.1 * sqrt(1/3 + 1/2) = 0.1 sqrt(5/6)
    # t = 2 / sqrt(5/6) = sqrt(4.8), df 2 -> p = 1 - t / sqrt(t^2 + 2) = 1 - sqrt(4.8 / 6.8)
    data = Units(np.array([0.6, 0.7, 0.8]), np.array([0.5] * 3), ratio=0.5)
    res = build("stat_tests", "corrected", data)
    assert res.statistic == pytest.approx(math.sqrt(4.8))
    assert res.p_value == pytest.approx(1 - math.sqrt(4.8 / 6.8))
    assert res.effect == pytest.approx(2.0) and res.diff == pytest.approx(0.2)
    plain = build("stat_tests", "ttest", data)  # the plain t-test ignores the ratio
    assert plain.p_value == pytest.approx(1 - math.sqrt(12 / 14))
    # the CI of the corrected test: 0.2 +- t_{.975,2} * 0.1 sqrt(5/6), t_{.975,2} = 4.302653
    half = 4.302653 * 0.1 * math.sqrt(5 / 6)
    assert res.ci == pytest.approx((0.2 - half, 0.2 + half), rel=1e-5)


# ------------------------------------------------------------------------ planted differences
def test_marks_appear_exactly_where_a_difference_was_planted() -> None:
    # reference REF; SAME differs from it by +e/-e per fold (mean difference exactly 0, p = 1);
    # WORSE is 5 points lower on ua only (wa identical pattern to SAME).
    ref = [0.60, 0.65, 0.58, 0.63, 0.61, 0.64]
    wiggle = [0.004, -0.004, 0.003, -0.003, 0.002, -0.002]
    values = {"REF": {}, "SAME": {}, "WORSE": {}}
    for k, r in enumerate(ref):
        unit = (str(k + 1), 0)
        values["REF"][unit] = {"ua": r, "wa": r + 0.05}
        values["SAME"][unit] = {"ua": r + wiggle[k], "wa": r + 0.05 - wiggle[k]}
        values["WORSE"][unit] = {"ua": r - 0.05 + wiggle[k], "wa": r + 0.05 + wiggle[k]}
    out, plans = compare_rows(make_runs(values), metrics={"synth": ["ua", "wa"]}, reference="REF")
    assert plans["synth"].test == "corrected" and not plans["synth"].all_pairs
    marked = {(r.row, r.metric) for r in out.itertuples() if r.significant}
    assert marked == {("WORSE", "ua")}


def test_utterance_tests_detect_a_planted_difference_on_one_split() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, size=300)
    frames, values = {}, {}
    for name, acc in [("GOOD", 0.80), ("BAD", 0.55)]:
        values[name] = {}
        for seed in range(2):
            right = rng.random(300) < acc
            pred = np.where(right, labels, (labels + rng.integers(1, 4, size=300)) % 4)
            frames[f"synth-{name}-test-{seed}"] = predictions_frame(
                [str(x) for x in labels], [str(x) for x in pred]
            )
            values[name][("test", seed)] = {"ua": float(np.mean(right)), "wa": 0.0}
    runs = make_runs(values)
    for test in ("bootstrap", "permutation", "mcnemar"):
        out, plans = compare_rows(
            runs, metrics={"synth": ["ua"]}, test=test, predictions=frames.__getitem__,
            options={"n_resamples": 500},
        )  # fmt: skip
        row = out.iloc[0]
        assert (row["row"], row["reference"], bool(row["significant"])) == ("BAD", "GOOD", True)
        assert row["p_value"] < 0.01 and row["diff"] < -0.1  # BAD - GOOD: about -0.25
    out, plans = compare_rows(
        runs, metrics={"synth": ["ua"]}, predictions=frames.__getitem__, test="permutation"
    )
    assert out.iloc[0]["ci_low"] < out.iloc[0]["diff"] < out.iloc[0]["ci_high"] < 0
    _, plans = compare_rows(runs, metrics={"synth": ["ua"]}, predictions=frames.__getitem__)
    assert plans["synth"].test == "ttest"  # one split, 2 seeds: the seed is the unit


# ------------------------------------------------------------------------ null hypothesis
def null_runs(n_tables: int, seed: int) -> pd.DataFrame:
    """`n_tables` simulated tables as one runs table, one pseudo-dataset ``null<k>`` per table:
    3 configurations equal in expectation, 5 folds x 3 seeds; fold difficulty shared by all, a
    configuration x fold interaction (sd 0.01: how well a configuration suits a test session) and
    run noise (sd 0.01). Seeds of a fold are therefore not independent units."""
    rng = np.random.default_rng(seed)
    tables = []
    for k in range(n_tables):
        fold = rng.normal(0.6, 0.03, size=5)
        values = {}
        for name in ("A", "B", "C"):
            suit = rng.normal(0, 0.01, size=5)
            values[name] = {
                (str(f + 1), s): {"ua": fold[f] + suit[f] + rng.normal(0, 0.01)}
                for f in range(5)
                for s in range(3)
            }
        tables.append(make_runs(values, dataset=f"null{k:03d}"))
    return pd.concat(tables, ignore_index=True)


@pytest.mark.parametrize("reference", ["best", "A"])
def test_false_mark_rate_under_the_null_stays_at_alpha(reference: str) -> None:
    # 200 simulated tables; a table "fails" when any cell gets a mark (family-wise error).
    # Under H0 the rate is <= alpha = 0.05; binomial SE = sqrt(0.05 * 0.95 / 200) = 0.0154, so
    # allow alpha + 3 SE = 0.096 (a correct procedure exceeds it with probability ~0.2 %).
    alpha, n = 0.05, 200
    runs = null_runs(n, seed=11)
    names = sorted(runs["dataset"].unique())
    out, plans = compare_rows(
        runs, metrics={d: ["ua"] for d in names}, reference=reference, alpha=alpha
    )
    assert {p.test for p in plans.values()} == {"corrected"} and len(plans) == n
    rate = out.groupby("dataset")["significant"].any().sum() / n
    assert rate <= alpha + 3 * math.sqrt(alpha * (1 - alpha) / n), rate


def test_utterance_tests_refuse_runs_scored_on_different_labels() -> None:
    frames = {
        "a": predictions_frame(["x", "y"], ["x", "y"]),
        "b": predictions_frame(["y", "y"], ["x", "y"]),
    }
    with pytest.raises(UserError, match="different labels"):
        utterances_for([("test", "a", "b")], frames.__getitem__, "wa", ())


# ------------------------------------------------------------------------ layouts and captions
def fold_runs(splits: list[str], seeds: int = 1) -> pd.DataFrame:
    """Rows A, B, C on `splits` of a 5-fold corpus (its protocol lists all 5 folds)."""
    rng = np.random.default_rng(4)
    values = {
        name: {(s, k): {"ua": 0.6 + shift + rng.normal(0, 0.01)} for s in splits
               for k in range(seeds)}
        for name, shift in (("A", 0.0), ("B", 0.01), ("C", 0.02))
    }  # fmt: skip
    folds = protocol_json("synth", splits=[f"fold{k}" for k in range(1, 6)])
    return make_runs(values).assign(protocol=folds)


def test_two_of_five_folds_are_tested_as_folds_with_the_corpus_ratio() -> None:
    out, plans = compare_rows(fold_runs(["fold1", "fold2"], seeds=3), metrics={"synth": ["ua"]})
    plan = plans["synth"]
    assert (plan.test, plan.n_units, plan.n_folds) == ("corrected", 2, 5)
    assert "over 2 folds (seeds averaged per fold)" in plan.reason
    assert "1/k + n_test/n_train = 1/2 + 0.25" in plan.reason  # 5 folds: 1 / (5 - 1)
    # best-row mode, 3 rows: Holm over 3 pairs, a mark needs raw p <= 0.05 / 3
    assert out["mde_alpha"].tolist() == pytest.approx([0.05 / 3] * 2)
    view = build_view(fold_runs(["fold1", "fold2"]), reported=False)
    assert any(
        "synth: 2 of 5 folds (leave one session out) × 1 seed (0)" in x for x in view.caption
    )


def test_one_fold_of_a_fold_corpus_is_no_official_split_and_gets_no_test() -> None:
    view = build_view(fold_runs(["fold1"], seeds=3), reported=False)
    text = "\n".join(view.caption)
    assert "synth: 1 of 5 folds (leave one session out) × 3 seeds (0, 1, 2)" in text
    assert "official" not in text
    assert "No significance test (1 of 5 folds cannot support a test between configurations" in text
    assert view.comparisons.empty


def test_one_split_tests_seeds_and_with_one_seed_says_what_it_compares() -> None:
    rng = np.random.default_rng(9)
    labels = rng.integers(0, 3, size=60)
    frames, values = {}, {}
    for name in ("A", "B", "C"):
        values[name] = {}
        for seed in range(3):
            pred = np.where(rng.random(60) < 0.7, labels, rng.integers(0, 3, size=60))
            frames[f"meld-{name}-official-{seed}"] = predictions_frame(
                [str(x) for x in labels], [str(x) for x in pred]
            )
            values[name][("official", seed)] = {"wf1": float(np.mean(pred == labels))}
    runs = make_runs(values, dataset="meld")
    out, plans = compare_rows(runs, metrics={"meld": ["wf1"]}, predictions=frames.__getitem__,
                              reference="A")  # fmt: skip
    assert plans["meld"].test == "ttest" and out["n"].tolist() == [3, 3]
    assert "paired t-test over 3 seeds of one split: the seed is the unit" in plans["meld"].reason
    assert out["mde_alpha"].tolist() == pytest.approx([0.025, 0.025])  # 2 rows against A
    one = runs[runs["seed"] == 0]
    out, plans = compare_rows(one, metrics={"meld": ["wf1"]}, predictions=frames.__getitem__,
                              reference="A", options={"n_resamples": 200})  # fmt: skip
    assert plans["meld"].test == "permutation" and out["n"].tolist() == [60, 60]
    reason = plans["meld"].reason
    assert "it compares these trained models, not their configurations" in reason
    assert "training variance is unmeasured (2 or more seeds per configuration" in reason


def test_test_option_help_lists_every_registered_test() -> None:
    from merbench.cli.report import TEST_HELP

    for name in [*STAT_TESTS.names(), "auto", "none"]:
        assert name in TEST_HELP, name

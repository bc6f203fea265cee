"""Which test a comparison gets by default (`choose_test`), why (`test_reason`, for captions), and
what a registered test consumes (`test_level`).

The unit of a test must carry the variance of what is compared: configurations, i.e. recipes whose
trained models vary with the seed and with the training data. Default choice, by layout:

1. cross-validation folds (a fold corpus, two or more of its folds run): ``corrected``, Nadeau and
   Bengio's (2003) corrected resampled t-test over folds, each fold's value the mean over the seeds
   both configurations have on it. Seeds sharing a test fold are repeated measures of that fold
   (treating fold x seed as units would count the fold's test-set effect several times); averaging
   them keeps the seed variance inside each fold's value. Folds share training data (leave one
   session out: two folds share 3 of their 4 non-test sessions), so fold differences are correlated
   and the plain paired t-test is liberal (Dietterich 1998); the correction inflates the variance
   of the mean from sd^2/k to sd^2 (1/k + n_test/n_train), exact for equicorrelated normal
   differences with rho = n_test / (n_test + n_train). The plain ``ttest`` stays an option.
2. a subset of one fold of a fold corpus (``--split fold1``): no default test. One fold cannot
   support a test between configurations, and it is not an official split.
3. one official split (MELD, M3ED) with two or more seeds: ``ttest``, the paired t-test over seeds.
   The seed is the unit, so training variance is in the test; pooling seeds' predictions into an
   utterance-level test ignores it and marks identical configurations far above alpha (simulated
   in tests/report/test_report_calibration.py). With few seeds the test has few degrees of
   freedom, which its minimum detectable difference states.
4. one official split and one seed, with per-utterance predictions: ``permutation``, the paired
   permutation test over test utterances. It compares the two trained models on this test set;
   training variance is unmeasured (two or more seeds per configuration let merbench measure it).
5. otherwise no test.
"""

from __future__ import annotations

from merbench.registry import STAT_TESTS


def test_level(name: str) -> str:
    """``"units"`` or ``"utterances"``: what the registered test `name` consumes."""
    entry = STAT_TESTS.get(name)
    return getattr(entry.config, "level", "units") if entry.config else "units"


def choose_test(
    n_splits: int, n_units: int, have_predictions: bool, n_folds: int = 1
) -> tuple[str | None, str]:
    """The default test and the reason (rules in the module docstring), given the number of splits
    run, the smallest number of matched units among the rows compared (folds when several splits
    were run, else seeds), whether per-utterance predictions can be loaded, and the number of folds
    of the corpus's protocol (1: one official split)."""
    if n_folds > 1 or n_splits > 1:
        if n_splits >= 2 and n_units >= 2:
            return "corrected", "folds share training data"
        if n_splits >= 2:
            return None, "a row has runs on fewer than 2 folds: no test over folds"
        return None, (
            f"{n_splits} of {max(n_folds, n_splits)} folds cannot support a test between "
            "configurations: a test over folds needs at least 2 folds per row; --test "
            "permutation compares the trained models on this fold"
        )
    if n_units >= 2:
        return "ttest", "the seed is the unit, so training variance is tested"
    if have_predictions:
        return "permutation", "one seed"
    return None, "one seed and no per-utterance predictions"


def test_reason(test: str, n_units: int, n_splits: int, n_folds: int, ratio: float) -> str:
    """The caption's description of `test` on this layout and why it is used."""
    folds = n_splits > 1
    units = f"{n_units} folds (seeds averaged per fold)" if folds else f"{n_units} seeds"
    if test == "corrected":
        return (
            f"Nadeau and Bengio's corrected resampled t-test over {units}: folds share training "
            f"data, so the variance of the mean difference is inflated by 1/k + n_test/n_train = "
            f"1/{n_units} + {ratio:.3g}"
        )
    if test == "ttest":
        if folds:
            return f"paired t-test over {units}; it ignores that folds share training data"
        return (
            f"paired t-test over {units} of one split: the seed is the unit, so training "
            f"variance is part of the test ({n_units - 1} degree"
            f"{'s' if n_units != 2 else ''} of freedom)"
        )
    if test == "wilcoxon":
        return f"Wilcoxon signed-rank test over {units}"
    if test in ("bootstrap", "permutation", "mcnemar"):
        name = {
            "bootstrap": "paired bootstrap over test utterances",
            "permutation": "paired permutation test over test utterances",
            "mcnemar": "exact McNemar test on per-utterance correctness",
        }[test]
        if not folds and n_units <= 1:
            return (
                f"{name} of one seed: it compares these trained models, not their "
                "configurations; training variance is unmeasured (2 or more seeds per "
                "configuration let merbench test over seeds)"
            )
        return f"{name}, {'folds and ' if folds else ''}seeds pooled: it ignores training variance"
    return f"test {test}"

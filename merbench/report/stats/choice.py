"""Which test a comparison gets by default (`choose_test`) and what a registered test consumes.

Units of a unit-level test: with several splits (IEMOCAP's 5 folds), a unit is a fold and its
value the mean over the seeds both configurations have on it: seeds that share a test fold are
repeated measures, and counting 5 folds x 3 seeds as 15 independent units would understate the
variance whenever configurations differ from fold to fold. With one split (MELD, M3ED), a unit is
a seed.

Default choice (`choose_test`), what a careful analyst would pick and why:

1. one official split (MELD, M3ED) and per-utterance predictions available: ``permutation``. Units
   are then only seeds (typically 1-5): too few for a unit test, and with a fixed test set the
   sampling of test utterances is the uncertainty that matters. The paired permutation test is
   exact under the null that the two configurations are exchangeable on every utterance; the
   bootstrap's shifted-distribution p-value is only approximate (simulated null, 1000 comparisons
   of 200 utterances x 2 seeds: rate of p <= 0.05 was 0.053 for the bootstrap and 0.052 for the
   permutation test, but of p <= 0.01 it was 0.022 and 0.016). The permutation result carries the
   bootstrap percentile CI of the difference.
2. otherwise >= 5 units (folds, or seeds of one split): ``ttest`` over units. Not Wilcoxon: with n
   units its smallest two-sided p is 2 / 2**n, 0.0625 for 5 folds, so it can never reach 0.05 (it
   can from n = 6; choose it with ``--test wilcoxon`` when normality of the differences is
   doubtful). Caveat: folds share training data, so fold differences are not independent and the
   paired t-test over folds is somewhat liberal (Dietterich 1998; Nadeau & Bengio 2003).
3. otherwise per-utterance predictions available: ``permutation`` pooled over folds and seeds.
4. otherwise >= 2 units: ``ttest`` (few degrees of freedom, stated in the caption).
5. otherwise no test.
"""

from __future__ import annotations

from merbench.registry import STAT_TESTS


def test_level(name: str) -> str:
    """``"units"`` or ``"utterances"``: what the registered test `name` consumes."""
    entry = STAT_TESTS.get(name)
    return getattr(entry.config, "level", "units") if entry.config else "units"


def choose_test(n_splits: int, n_units: int, have_predictions: bool) -> tuple[str | None, str]:
    """The default test and the reason, given the number of distinct splits of the dataset, the
    smallest number of matched units among the pairs compared, and whether per-utterance
    predictions can be loaded (rules in the module docstring)."""
    if n_splits == 1 and have_predictions:
        return "permutation", "one official split: paired permutation test over test utterances"
    if n_units >= 5:
        return "ttest", f"paired t-test over {n_units} units"
    if have_predictions:
        return "permutation", "fewer than 5 units: paired permutation test over test utterances"
    if n_units >= 2:
        return "ttest", f"paired t-test over only {n_units} units"
    return None, "no test: fewer than 2 matched units and no per-utterance predictions"

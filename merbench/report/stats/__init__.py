"""Significance tests between configurations, registered on the `STAT_TESTS` axis.

Two kinds of test, each a function ``test(config, data) -> StatResult`` (`results`):

- over matched *units* (folds, seed-averaged, or seeds of one split; `Units` holds the two per-unit
  metric vectors): ``corrected`` (for folds that share training data), ``ttest`` and
  ``wilcoxon`` (`units`);
- over test *utterances*, from per-utterance predictions pooled over seeds (and folds) (`Utterances`):
  ``bootstrap``, ``permutation`` and ``mcnemar`` (`utterances`, on the count arithmetic of
  `counts`).

`choice` picks the default test (`choose_test`, with the reasons), `corrections` adjusts the
p-values of one column, `family` decides the marks of a column (`mark_column`, vectorised over a
batch of tables: the core that tables and the calibration tests share). This package is the registry's built-in module for the axis: importing it
registers every test; the names below are its public API.
"""

from merbench.report.stats.choice import choose_test, test_level, test_reason
from merbench.report.stats.corrections import CORRECTIONS, bonferroni, holm
from merbench.report.stats.counts import FAST_METRICS, metric_from_counts
from merbench.report.stats.results import StatResult, Units, Utterances
from merbench.report.stats.units import corrected_ttest, min_wilcoxon_p, paired_ttest, wilcoxon
from merbench.report.stats.utterances import mcnemar, paired_bootstrap, paired_permutation

__all__ = [
    "CORRECTIONS", "FAST_METRICS", "StatResult", "Units", "Utterances", "bonferroni",
    "choose_test", "corrected_ttest", "holm", "mcnemar", "metric_from_counts", "min_wilcoxon_p", "paired_bootstrap",
    "paired_permutation", "paired_ttest", "test_level", "test_reason", "wilcoxon",
]  # fmt: skip

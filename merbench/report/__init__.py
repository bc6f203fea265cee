"""Reporting layer: aggregation over folds and seeds, significance tests, tables, plots, the UI.

- `aggregate`: mean and std per configuration, dataset and metric over (split, seed) units;
  incomplete configurations flagged.
- `stats`: the tests registered on ``STAT_TESTS`` (ttest, wilcoxon, bootstrap, permutation,
  mcnemar), Holm correction, and the rule that picks the default test.
- `compare`: every row against the reference row, per dataset and metric, corrected.
- `view` / `render`: the table model and its writers (LaTeX, Markdown, CSV, terminal);
  `render.render_table` is what ``merbench table`` calls.
- `reported`: numbers papers report (``registry/reported/*.toml``); `slices`: metrics on a slice of
  the test utterances (synth's inconsistent text).
- `plots`: confusion matrices, t-SNE, forest plots; `ui`: ``merbench ui`` (MLflow UI).
"""

"""Compare configurations against a reference row, per dataset and metric, with a correction.

`compare_rows` chooses the test of each dataset (`choose_test`: by layout), and for each column
runs the statistics core `merbench.report.stats.family.mark_column` on it: the reference row (a
named row, or the best complete row by mean), one registered test (`merbench.report.stats`) per
pair of the correction family, the correction (Holm by default; over all pairs of the column when
the reference is the data-selected best row) and the marks. It returns one record per comparison
(with its MDE at the level the correction demands) plus a `Plan` per dataset saying which test ran
and why, for captions.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from merbench.errors import UserError
from merbench.registry import STAT_TESTS
from merbench.report.aggregate import finished_runs, unit_matrix
from merbench.report.power import minimum_detectable_difference
from merbench.report.protocols import headline_metrics, protocol_of
from merbench.report.slices import slice_mask, split_metric
from merbench.report.stats import (
    CORRECTIONS,
    FAST_METRICS,
    StatResult,
    Units,
    Utterances,
    choose_test,
    min_wilcoxon_p,
    test_level,
    test_reason,
)
from merbench.report.stats.family import (
    family_alpha,
    mark_column,
    reference_rows,
    row_means,
)
from merbench.report.stats.utterances import PermutationConfig

Predictions = Callable[[str], pd.DataFrame]

COMPARISON_COLUMNS = [
    "dataset", "metric", "row", "reference", "test", "n", "diff", "ci_low", "ci_high",
    "statistic", "p_value", "p_adjusted", "effect", "effect_name", "significant", "mde",
    "mde_alpha", "note",
]  # fmt: skip


@dataclass(frozen=True)
class Plan:
    """What was tested on one dataset: test name (None: no test), why, correction, family size."""

    dataset: str
    test: str | None
    reason: str
    correction: str
    alpha: float
    reference: str  # a row name, or "best"
    all_pairs: bool
    n_units: int
    n_splits: int
    n_seeds: int
    n_folds: int = 1  # folds of the corpus's protocol (1: one official split)

    def sentence(self) -> str:
        """One caption sentence describing the test."""
        if self.test is None:
            return f"No significance test ({self.reason})."
        ref = "the best row of its column" if self.reference == "best" else self.reference
        fam = (
            "all pairwise comparisons of the column (the reference is selected from the data)"
            if self.all_pairs
            else "the rows of the column"
        )
        corr = "no correction" if self.correction == "none" else f"{self.correction.title()} "
        corr += "" if self.correction == "none" else f"correction over {fam}"
        text = f"\u2020: differs significantly from {ref} ({self.reason}; {corr}; \u03b1 = "
        text += f"{self.alpha:g})."
        if self.test == "wilcoxon" and self.n_units and min_wilcoxon_p(self.n_units) > self.alpha:
            text += (
                f" With {self.n_units} units the signed-rank test's smallest p is "
                f"{min_wilcoxon_p(self.n_units):.4g} > \u03b1: it cannot mark any cell."
            )
        return text


def _run_index(runs: pd.DataFrame) -> dict[tuple[str, str, str, int], str]:
    return {
        (r.row, r.dataset, r.split, int(r.seed)): str(r.run_id)
        for r in runs[["row", "dataset", "split", "seed", "run_id"]].itertuples(index=False)
    }


class _PredictionCache:
    """Loads per-utterance predictions once per run id."""

    def __init__(self, load: Predictions) -> None:
        self.load = load
        self.frames: dict[str, pd.DataFrame] = {}

    def __call__(self, run_id: str) -> pd.DataFrame:
        if run_id not in self.frames:
            try:
                frame = self.load(run_id)
            except UserError:
                raise
            except Exception as exc:  # a missing artifact, an unreachable store
                raise UserError(f"cannot load the predictions of run {run_id}: {exc}") from exc
            missing = {"id", "label", "prediction"} - set(frame.columns)
            if missing:
                raise UserError(f"predictions of run {run_id} lack {', '.join(sorted(missing))}")
            self.frames[run_id] = frame
        return self.frames[run_id]


def utterances_for(
    pairs: list[tuple[str, str, str]],
    load: Callable[[str], pd.DataFrame],
    metric: str,
    components: tuple[str, ...],
) -> Utterances:
    """Build the `Utterances` of A vs B from matched runs ``[(split, run_id_a, run_id_b), ...]``.

    Utterances are matched on ``id`` within a split (inner join); a cluster is (split, id) and
    gathers that utterance's predictions over all seeds.
    """
    parts = []
    base, piece = split_metric(metric)
    for split, run_a, run_b in pairs:
        fa, fb = load(run_a), load(run_b)
        if piece is not None:
            fa, fb = fa[slice_mask(fa, piece)], fb[slice_mask(fb, piece)]
        fa = fa[["id", "label", "prediction"]]
        fb = fb[["id", "label", "prediction"]].rename(
            columns={"prediction": "prediction_b", "label": "label_b"}
        )
        joined = fa.merge(fb, on="id", how="inner")
        clash = joined["label"] != joined["label_b"]
        if clash.any():
            first = joined.loc[clash, "id"].iloc[0]
            raise UserError(
                f"runs {run_a} and {run_b} give utterance {first} different labels "
                f"({int(clash.sum())} such utterances): they were not scored on the same test set"
            )
        joined["cluster"] = split + "\x00" + joined["id"].astype(str)
        parts.append(joined)
    frame = pd.concat(parts, ignore_index=True)
    classes = sorted(set(frame["label"]) | set(frame["prediction"]) | set(frame["prediction_b"]))
    code = {c: i for i, c in enumerate(classes)}
    c = len(classes)
    true = frame["label"].map(code).to_numpy()
    pa = frame["prediction"].map(code).to_numpy()
    pb = frame["prediction_b"].map(code).to_numpy()
    cluster, _ = pd.factorize(frame["cluster"])
    n = int(cluster.max()) + 1 if cluster.size else 0
    ha = np.bincount(cluster * c * c + true * c + pa, minlength=n * c * c).reshape(n, c * c)
    hb = np.bincount(cluster * c * c + true * c + pb, minlength=n * c * c).reshape(n, c * c)
    seeds = np.bincount(cluster, minlength=n).astype(float)
    correct_a = np.bincount(cluster, weights=(pa == true).astype(float), minlength=n) / seeds
    correct_b = np.bincount(cluster, weights=(pb == true).astype(float), minlength=n) / seeds
    return Utterances(ha.astype(float), hb.astype(float), correct_a, correct_b, c, base,
                      components)  # fmt: skip


def _resolve_test(name: str, options: dict[str, Any]) -> tuple[Callable, Any]:
    entry = STAT_TESTS.get(name)
    fields = {f.name for f in dataclasses.fields(entry.config)} if entry.config else set()
    mine = {k: v for k, v in options.items() if k in fields}
    config = STAT_TESTS.resolve(name, mine)
    return entry.obj, config


def _check_options(options: dict[str, Any]) -> None:
    if not options:
        return
    known: set[str] = set()
    for entry in STAT_TESTS.entries():
        if entry.config:
            known |= {f.name for f in dataclasses.fields(entry.config)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise UserError(
            f"unknown test option {', '.join(unknown)}; valid: {', '.join(sorted(known))}"
        )


def compare_rows(
    runs: pd.DataFrame,
    *,
    datasets: list[str] | None = None,
    metrics: dict[str, list[str]] | None = None,
    rows: list[str] | None = None,
    reference: str | None = None,
    test: str | None = "auto",
    alpha: float = 0.05,
    correction: str = "holm",
    predictions: Predictions | None = None,
    options: dict[str, Any] | None = None,
    part: str = "test",
) -> tuple[pd.DataFrame, dict[str, Plan]]:
    """Every row against the reference row of its column, per dataset and metric.

    `reference` is a row name or None / ``"best"`` (the row with the highest mean in each column
    among the rows that have every unit of the column; no test when none has).
    `test` is a registered test name or ``"auto"`` (`choose_test`). `predictions` maps a run id to
    its per-utterance predictions (needed by utterance-level tests). Returns (comparisons, plans):
    comparisons has `COMPARISON_COLUMNS`, one record per (dataset, metric, non-reference row);
    ``mde`` is the comparison's minimum detectable difference (`merbench.report.power`) at
    `alpha` and 80% power.
    """
    test = test or "auto"
    if correction not in CORRECTIONS:
        raise UserError(f"unknown correction {correction!r}; valid: {', '.join(CORRECTIONS)}")
    if test != "auto" and test not in STAT_TESTS:
        STAT_TESTS.get(test)  # raises the UserError listing valid names
    options = dict(options or {})
    _check_options(options)
    runs = finished_runs(runs)
    datasets = datasets or sorted(runs["dataset"].unique())
    load = _PredictionCache(predictions) if predictions is not None else None
    index = _run_index(runs) if load is not None else {}
    ref_mode = reference in (None, "", "best")
    records: list[dict[str, Any]] = []
    plans: dict[str, Plan] = {}
    for dataset in datasets:
        names = (metrics or {}).get(dataset) or headline_metrics(runs, dataset)
        sub = runs[runs["dataset"] == dataset]
        if sub.empty:
            continue
        order = [r for r in (rows or sorted(sub["row"].unique())) if r in set(sub["row"])]
        if not ref_mode and reference not in order:
            plans[dataset] = Plan(
                dataset, None, f"the reference {reference} has no runs on {dataset}",
                correction, alpha, str(reference), False, 0, int(sub["split"].nunique()),
                int(sub["seed"].nunique()),
            )  # fmt: skip
            continue
        first = unit_matrix(runs, dataset, names[0], part, order)
        n_splits = int(sub["split"].nunique())
        n_units = _block_count(first, n_splits)
        n_folds = max(len(protocol_of(runs, dataset).splits), n_splits)
        ratio = 1.0 / (n_folds - 1) if n_folds > 1 else 0.0
        chosen, reason = (
            choose_test(n_splits, n_units, load is not None, n_folds)
            if test == "auto"
            else (test, "")
        )
        if chosen is not None:
            reason = test_reason(chosen, n_units, n_splits, n_folds, ratio)
        if chosen is not None and test_level(chosen) == "utterances" and load is None:
            raise UserError(f"test {chosen!r} needs per-utterance predictions (none were given)")
        plans[dataset] = Plan(
            dataset, chosen, reason, correction, alpha, "best" if ref_mode else str(reference),
            ref_mode and correction != "none", n_units, n_splits, int(sub["seed"].nunique()),
            n_folds,
        )  # fmt: skip
        if chosen is None or len(order) < 2:
            continue
        fn, config = _resolve_test(chosen, options)
        level = test_level(chosen)
        components = tuple(m for m in headline_metrics(runs, dataset) if m != "avg")
        for metric in names:
            if level == "utterances" and split_metric(metric)[0] not in FAST_METRICS:
                raise UserError(f"test {chosen!r} cannot score metric {metric!r}")
            matrix = (
                first if metric == names[0] else unit_matrix(runs, dataset, metric, part, order)
            )
            present = [r for r in order if matrix[r].notna().any()]
            if len(present) < 2 or (not ref_mode and reference not in present):
                continue
            values = unit_array(matrix[present])
            means = row_means(values)
            ref_index = None if ref_mode else present.index(str(reference))
            complete = np.array([[bool(matrix[r].notna().all()) for r in present]])
            if ref_mode and not complete.any():
                continue  # never an incomplete best row
            ref = int(reference_rows(means, ref_index, complete)[0])
            pair_data: Callable[[int, int], Units | Utterances]
            if level == "units" or load is None:
                pair_data = functools.partial(_unit_pair, values[0], ratio)
            else:
                pair_data = functools.partial(
                    _utterance_pair, matrix, present, index, dataset, load, metric, components
                )
            tests = _ColumnTests(ref, pair_data, fn, config)
            marks = mark_column(
                means, tests, alpha=alpha, correction=correction, reference=ref_index,
                eligible=complete,
            )  # fmt: skip
            level_alpha = family_alpha(alpha, int(marks.family[0]), correction)
            for q, (i, j) in enumerate(marks.pairs):
                if ref not in (i, j):
                    continue
                res, data = tests.results[(i, j)]
                row = j if ref == i else i
                records.append({
                    "dataset": dataset, "metric": metric, "row": present[row],
                    "reference": present[ref], "test": res.test, "n": res.n, "diff": res.diff,
                    "ci_low": res.ci[0], "ci_high": res.ci[1], "statistic": res.statistic,
                    "p_value": res.p_value, "p_adjusted": float(marks.p_adjusted[0, q]),
                    "effect": res.effect, "effect_name": res.effect_name,
                    "significant": bool(marks.marked[0, row]),
                    "mde": minimum_detectable_difference(chosen, data, level_alpha),
                    "mde_alpha": level_alpha, "note": res.note,
                })  # fmt: skip
    return pd.DataFrame.from_records(records, columns=COMPARISON_COLUMNS), plans


@dataclass
class _ColumnTests:
    """The test of a column's pairs as `mark_column` asks for them (``pairs -> p [1, P]``); keeps
    each pair's result and data, tested as "row minus reference" (two-sided: the same p)."""

    ref: int
    pair_data: Callable[[int, int], Units | Utterances]
    fn: Callable[[Any, Any], StatResult]
    config: Any
    results: dict[tuple[int, int], tuple[StatResult, Units | Utterances]] = dataclasses.field(
        default_factory=dict
    )

    def __call__(self, pairs: list[tuple[int, int]]) -> np.ndarray:
        for pair in pairs:
            i, j = pair[::-1] if pair[0] == self.ref else pair
            data = self.pair_data(i, j)
            self.results[pair] = (self.fn(self._config(self.ref in pair), data), data)
        return np.array([[self.results[q][0].p_value for q in pairs]])

    def _config(self, reported: bool) -> Any:
        """The test's config; a pair that is only part of the correction family (no record, no
        CI shown) skips the permutation test's bootstrap CI (``confidence = 0``), the same p."""
        if reported or not isinstance(self.config, PermutationConfig):
            return self.config
        return dataclasses.replace(self.config, confidence=0)


def _unit_pair(values: np.ndarray, ratio: float, i: int, j: int) -> Units:
    return pair_units(values, i, j, ratio)


def _utterance_pair(
    matrix: pd.DataFrame, present: list[str], index: dict, dataset: str,
    load: Callable[[str], pd.DataFrame], metric: str, components: tuple[str, ...], i: int, j: int,
) -> Utterances:  # fmt: skip
    matched = _matched_runs(matrix, index, dataset, present[i], present[j])
    return utterances_for(matched, load, metric, components)


def _matched_runs(
    matrix: pd.DataFrame, index: dict, dataset: str, a: str, b: str
) -> list[tuple[str, str, str]]:
    """``(split, run_id_a, run_id_b)`` of the units both rows have."""
    both = matrix[a].notna() & matrix[b].notna()
    return [
        (s, index[(a, dataset, s, k)], index[(b, dataset, s, k)])
        for (s, k), keep in zip(matrix.index, both, strict=True)
        if keep
    ]


def unit_array(matrix: pd.DataFrame) -> np.ndarray:
    """A `unit_matrix` (index (split, seed), one column per row) as ``[1, S, K, R]`` values (NaN:
    a missing run), the input of `merbench.report.stats.family`."""
    splits = list(dict.fromkeys(matrix.index.get_level_values("split")))
    seeds = sorted(set(matrix.index.get_level_values("seed")))
    out = np.full((1, len(splits), len(seeds), matrix.shape[1]), np.nan)
    for (split, seed), row in zip(matrix.index, matrix.to_numpy(), strict=True):
        out[0, splits.index(split), seeds.index(seed)] = row
    return out


def pair_units(values: np.ndarray, i: int, j: int, ratio: float) -> Units:
    """The paired units of rows i and j from ``values [S, K, R]``: with several splits, each
    split's mean over the seeds both rows have (seeds sharing a test fold are not independent
    units); with one split, the seeds both rows have."""
    a, b = values[..., i], values[..., j]
    both = ~np.isnan(a) & ~np.isnan(b)
    if values.shape[0] == 1:
        return Units(a[0][both[0]], b[0][both[0]], ratio)
    keep = both.any(axis=1)
    count = both.sum(axis=1)[keep]
    mean_a = np.where(both, a, 0.0).sum(axis=1)[keep] / count
    mean_b = np.where(both, b, 0.0).sum(axis=1)[keep] / count
    return Units(mean_a, mean_b, ratio)


def _block_count(matrix: pd.DataFrame, n_splits: int) -> int:
    """Smallest number of test blocks of any row: splits with a value (several splits), else
    seeds (one split)."""
    if matrix.shape[1] == 0:
        return 0
    if n_splits > 1:
        present = matrix.notna().groupby(level="split").any()
        return int(present.sum().min())
    return int(matrix.notna().sum().min())

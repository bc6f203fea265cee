"""Results under test-time conditions (``--perturb``): per configuration, the headline metric on
clean input and under each condition, the paired difference from clean and its test.

A condition's values are the ``cond/<slug>/test/<metric>`` metrics a run logged when it was
evaluated under it (`merbench.experiment.evaluate`); only runs whose ``merbench.conditions`` tag
lists the condition count. Each condition is compared with clean over the units (fold, seed)
both have (`merbench.report.compare.compare_rows`, reference clean): the test is the one the
statistics core chooses for the layout (folds: the corrected resampled t-test over folds, seeds
averaged per fold; one split: over seeds; one seed of one split, or one fold: the paired
permutation test over test utterances, the same trained weights under both inputs); the p
values of a configuration's conditions are then Holm-corrected together.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from merbench.errors import UserError
from merbench.experiment.conditions import ABSENT_TAG, CONDITIONS_TAG, PREFIX
from merbench.report.aggregate import finished_runs, unit_matrix
from merbench.report.cells import mean_std_text
from merbench.report.compare import compare_rows
from merbench.report.protocols import headline_metrics
from merbench.report.stats import holm

CLEAN = "clean"


@dataclass(frozen=True)
class ConditionTable:
    """One dataset: `cells[(condition label, row)] = (mean, std, units)` of `metric`;
    `diffs[(label, row)] = (difference from clean, p adjusted, significant)`; `missing[label]`
    the runs of the chosen rows not evaluated under the condition."""

    dataset: str
    metric: str
    labels: list[str]
    rows: list[str]
    cells: dict[tuple[str, str], tuple[float, float, int]]
    diffs: dict[tuple[str, str], tuple[float, float, bool]]
    missing: dict[str, int]
    caption: str


def condition_extras(frame: pd.DataFrame, tag_prefix: str) -> pd.DataFrame:
    """Per run id (index): the conditions done (list of slugs), the declared absent-modality
    behaviour, and every ``cond/...`` metric, from MLflow's search frame."""
    ids = frame["run_id"].astype(str).to_numpy() if "run_id" in frame else []
    out = pd.DataFrame(index=pd.Index(ids, name="run_id"))
    column = f"tags.{tag_prefix}{CONDITIONS_TAG}"
    done = frame[column].tolist() if column in frame else [None] * len(out)
    out["conditions"] = [json.loads(t) if isinstance(t, str) and t else [] for t in done]
    absent = frame.get(f"tags.{tag_prefix}{ABSENT_TAG}")
    out["absent"] = absent.fillna("").to_numpy() if absent is not None else ""
    for col in frame.columns:
        if col.startswith("metrics." + PREFIX):
            out[col[8:]] = frame[col].astype(float).to_numpy()
    return out


def condition_runs(
    runs: pd.DataFrame, extras: pd.DataFrame, row: str, conditions: list[tuple[str, str]]
) -> pd.DataFrame:
    """The runs of configuration `row` as rows of one comparison: ``clean`` (the runs) and one
    row per condition (label, slug) with its ``test/`` metrics and run id ``<id>@<slug>``."""
    own = runs[runs["row"] == row]
    parts = [own.assign(row=CLEAN)]
    test_cols = [c for c in own.columns if c.startswith("test/")]
    for label, slug in conditions:
        keep = [
            rid in extras.index and slug in extras.at[rid, "conditions"] for rid in own["run_id"]
        ]
        done = own[keep].copy()
        if done.empty:
            continue
        for col in test_cols:
            source = f"{PREFIX}{slug}/{col}"
            values = extras[source] if source in extras else pd.Series(dtype=float)
            done[col] = [float(values.get(rid, math.nan)) for rid in done["run_id"]]
        done["run_id"] = done["run_id"].astype(str) + "@" + slug
        parts.append(done.assign(row=label, run_key=done["run_key"] + "@" + slug))
    return pd.concat(parts, ignore_index=True)


def condition_tables(
    runs: pd.DataFrame,
    extras: pd.DataFrame,
    conditions: list[tuple[str, str]],
    predictions: Callable[[str], pd.DataFrame],
    test: str | None = None,
    alpha: float = 0.05,
    order: Sequence[str] = (),
) -> list[ConditionTable]:
    """One `ConditionTable` per dataset of `runs` (module docstring); `conditions` are
    ``(label, slug)`` pairs; `predictions` loads a run id's predictions (``<id>@<slug>``: under
    the condition); rows in `order` (e.g. a grid's) first, the others by name."""
    runs = finished_runs(runs)
    labels = [label for label, _ in conditions]
    out = []
    for dataset in sorted(runs["dataset"].unique()):
        sub = runs[runs["dataset"] == dataset]
        metric = headline_metrics(runs, dataset)[0]
        present = set(sub["row"])
        rows = [r for r in order if r in present] + sorted(present - set(order))
        cells: dict[tuple[str, str], tuple[float, float, int]] = {}
        diffs: dict[tuple[str, str], tuple[float, float, bool]] = {}
        missing = {label: 0 for label in labels}
        reasons: list[str] = []
        for row in rows:
            both = condition_runs(sub, extras, row, conditions)
            matrix = unit_matrix(both, dataset, metric, "test", [CLEAN, *labels])
            for column in matrix.columns:
                values = matrix[column].dropna().to_numpy(float)
                std = float(values.std(ddof=1)) if values.size > 1 else math.nan
                cells[(column, row)] = (float(values.mean()), std, int(values.size))
            for label in labels:
                missing[label] += (
                    int((sub["row"] == row).sum()) - cells.get((label, row), (0, 0, 0))[2]
                )
            tested = matrix.columns[1:]
            raw = []
            for label in tested:
                reason, p_value = compare_condition(both, dataset, metric, label, test, predictions)
                raw.append(p_value)
                if reason not in reasons:
                    reasons.append(reason)
            adjusted = holm(raw) if raw else np.array([])
            for label, p_adj in zip(tested, adjusted, strict=True):
                paired = (matrix[label] - matrix[CLEAN]).dropna()
                diffs[(label, row)] = (float(paired.mean()), float(p_adj), bool(p_adj < alpha))
        absent = sorted({a for a in extras.loc[extras.index.isin(sub["run_id"]), "absent"] if a})
        out.append(
            ConditionTable(
                str(dataset), metric, [CLEAN, *labels], rows, cells, diffs, missing,
                caption(dataset, metric, reasons, alpha, missing, absent),
            )
        )  # fmt: skip
    return out


def compare_condition(
    both: pd.DataFrame,
    dataset: str,
    metric: str,
    label: str,
    test: str | None,
    predictions: Callable[[str], pd.DataFrame],
) -> tuple[str, float]:
    """``(what was tested and why, p)`` of condition `label` against clean, over the units both
    have (`compare_rows`, uncorrected; NaN: no test). Where the layout supports no test between
    configurations (one fold of a fold corpus, one seed), the paired permutation test over test
    utterances runs instead: clean and condition are the same trained weights, so comparing
    them on this test set is the question asked."""
    if test == "none":
        return "no test (--test none)", math.nan
    pair = both[both["row"].isin([CLEAN, label])]

    def compare(name: str | None) -> tuple[pd.DataFrame, Any]:
        comparisons, plans = compare_rows(
            pair, datasets=[dataset], metrics={dataset: [metric]}, rows=[CLEAN, label],
            reference=CLEAN, test=name, correction="none", predictions=predictions,
        )  # fmt: skip
        return comparisons, plans[dataset]

    comparisons, plan = compare(test)
    if plan.test is None and test in (None, "auto") and plan.n_splits == 1:
        comparisons, plan = compare("permutation")
    if plan.test is None or comparisons.empty:
        return f"no test: {plan.reason}", math.nan
    return plan.reason, float(comparisons["p_value"].iloc[0])


def caption(
    dataset: str, metric: str, reasons: list[str], alpha: float, missing: dict[str, int],
    absent: list[str],
) -> str:  # fmt: skip
    """What a condition table's numbers are."""
    text = (
        f"{metric.upper()} (%) on {dataset} under test-time conditions, the weights trained "
        "on clean input: mean ± std over the runs (folds × seeds). Δ: mean paired difference "
        "from clean in points; p: "
        + ("; ".join(reasons) if reasons else "no test")
        + f", Holm-corrected over the conditions of each configuration; †: p < {alpha:g}."
    )
    if absent:
        text += " Absent modality: " + ", ".join(absent) + "."
    lacking = {k: v for k, v in missing.items() if v}
    if lacking:
        text += " Not evaluated: " + ", ".join(f"{k} on {v} runs" for k, v in lacking.items())
        text += " (run or ablate again with --perturb)."
    return text


def table_records(table: ConditionTable) -> list[list[str]]:
    """Text cells, one row block per condition: condition, configuration, value, Δ, p, runs."""
    lines = []
    for label in table.labels:
        for row in table.rows:
            cell = table.cells.get((label, row))
            diff = table.diffs.get((label, row))
            delta = p = ""
            if diff is not None:
                delta = f"{100 * diff[0]:+.1f}" + ("†" if diff[2] else "")
                p = "-" if np.isnan(diff[1]) else f"{diff[1]:.3g}"
            runs = str(cell[2]) if cell is not None else "0"
            lines.append([label, row, mean_std_text(cell), delta, p, runs])
    return lines


def render_conditions(tables: list[ConditionTable], fmt: str = "terminal") -> str:
    """The tables in `fmt` (terminal or md: Markdown; csv: one line per condition and row)."""
    if fmt == "csv":
        records = [
            {"dataset": t.dataset, "metric": t.metric, "condition": label, "row": row,
             "mean": t.cells.get((label, row), (math.nan,) * 3)[0],
             "std": t.cells.get((label, row), (math.nan,) * 3)[1],
             "runs": t.cells.get((label, row), (0, 0, 0))[2],
             "diff": t.diffs.get((label, row), (math.nan,) * 3)[0],
             "p_adjusted": t.diffs.get((label, row), (math.nan,) * 3)[1]}
            for t in tables for label in t.labels for row in t.rows
        ]  # fmt: skip
        return pd.DataFrame.from_records(records).to_csv(index=False)
    if fmt not in ("terminal", "md"):
        raise UserError(f"--perturb has no --format {fmt}: use terminal, md or csv")
    parts = []
    for t in tables:
        head = ["condition", "configuration", t.metric.upper(), "Δ", "p", "runs"]
        lines = ["| " + " | ".join(head) + " |", "|:--|:--|--:|--:|--:|--:|"]
        lines += ["| " + " | ".join(r) + " |" for r in table_records(t)]
        parts.append(f"{t.dataset}\n\n" + "\n".join(lines) + f"\n\n{t.caption}\n")
    return "\n".join(parts)

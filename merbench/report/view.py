"""The table model behind every format: aggregate, test, rank, and write the caption.

`build_view` turns a runs table into a `TableView`: measured rows (mean ± std per dataset and
metric, significance marks against the reference row, incomplete cells flagged), reported rows from
``registry/reported/`` (marked, never tested), ranks (best, second best over measured and reported
rows), the relative-improvement row like the DRKF paper's "ΔSota" (not in ablation tables, as in the
paper's Table 4), and a caption that states the protocol: datasets, folds or split, dev-split rule,
seeds, metric definitions, the test, its correction and alpha. The writers are in `render`.

Layouts: one row per configuration with metric columns grouped by dataset; for an ablation grid
(`grid`, the parsed ``registry/grids/<name>.toml``), the paper's Table 4 layout: one check-mark
column per component (``grid["columns"]``), rows in grid order, the Table 4 metrics per dataset.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from merbench.errors import UserError
from merbench.report.aggregate import (
    ablation_metrics,
    aggregate,
    dataset_card,
    finished_runs,
    headline_metrics,
    protocol_summary,
)
from merbench.report.compare import Plan, compare_rows
from merbench.report.power import resolution_sentence
from merbench.report.reported import ReportedRow, load_reported
from merbench.report.slices import (
    SLICE_DEFINITIONS,
    SLICE_HEADERS,
    SLICES,
    add_slice_metrics,
    split_metric,
)

FORMATS = ("latex", "md", "csv", "terminal")
DATASET_ORDER = ("iemocap", "meld", "m3ed", "synth")
DATASET_TITLES = {"iemocap": "IEMOCAP", "meld": "MELD", "m3ed": "M3ED", "synth": "synth"}
PAPER_NAMES = {
    "ua": "ACC", "wa": "WACC", "wf1": "WF1", "avg": "Avg", "precision": "Precision",
    "recall": "Recall", "micro_f1": "F1", "macro_f1": "MF1",
}  # fmt: skip
PAPER_NAMES_BY_DATASET = {"m3ed": {"wa": "ACC"}}
OUR_NAMES = {
    "ua": "UA", "wa": "WA", "wf1": "WF1", "avg": "Avg", "precision": "Precision",
    "recall": "Recall", "micro_f1": "Micro-F1", "macro_f1": "Macro-F1",
}  # fmt: skip
DEFINITIONS = {
    "ua": "UA = mean per-class recall",
    "wa": "WA = overall accuracy",
    "wf1": "F1 weighted by class support",
    "macro_f1": "unweighted mean of per-class F1",
    "micro_f1": "micro-averaged F1 (= WA for single-label data)",
    "precision": "macro-averaged precision",
    "recall": "macro-averaged recall",
    "avg": "mean of the dataset's other headline metrics",
}
DEV_RULES = {
    "iemocap": "dev = one held-out training session, rotating",
    "meld": "dev = the official dev split",
    "m3ed": "dev = the official validation series",
    "synth": "dev = the next session after the test session",
}
SYNTH_NOTE = (
    "embedded synthetic corpus: a sanity benchmark of the pipeline, not a scientific result"
)
DAGGER, DDAGGER, REPORTED_MARK = "\u2020", "\u2021", "*"


@dataclass
class CellView:
    """One displayed cell; `value` and `std` are fractions (None: no value)."""

    value: float | None = None
    std: float | None = None
    n: int = 0
    n_expected: int = 0
    dagger: bool = False
    incomplete: bool = False
    rank: int = 0  # 1 = best of the column, 2 = second best
    missing: str = ""


@dataclass
class RowView:
    label: str
    kind: str  # "measured" or "reported"
    cells: dict[tuple[str, str], CellView]
    marks: tuple[str, ...] = ()
    source: str = ""


@dataclass
class TableView:
    """Everything a writer needs; built by `build_view`."""

    title: str
    columns: list[tuple[str, str]]  # (dataset, metric)
    headers: dict[tuple[str, str], str]
    components: list[str]
    rows: list[RowView]
    delta: dict[tuple[str, str], float | None] | None
    caption: list[str]
    comparisons: pd.DataFrame
    plans: dict[str, Plan] = field(default_factory=dict)
    digits: int = 1
    show_std: bool = True


# ------------------------------------------------------------------------------------- building
def _order_datasets(names: list[str]) -> list[str]:
    known = [d for d in DATASET_ORDER if d in names]
    return known + sorted(d for d in names if d not in DATASET_ORDER)


def metric_header(dataset: str, metric: str, names: str = "paper") -> str:
    """Column header of `metric` on `dataset`: the paper's name (default) or merbench's; a slice
    metric ``ua@inconsistent`` gets the slice's tag (``ACC (inc.)``)."""
    metric, piece = split_metric(metric)
    if piece is not None:
        return f"{metric_header(dataset, metric, names)} ({SLICE_HEADERS.get(piece, piece)})"
    if names == "paper":
        return PAPER_NAMES_BY_DATASET.get(dataset, {}).get(metric) or PAPER_NAMES.get(
            metric, metric
        )
    return OUR_NAMES.get(metric, metric)


def grid_rows(grid: dict[str, Any]) -> list[dict[str, Any]]:
    rows = grid.get("rows") or []
    if not rows:
        raise UserError(f"grid {grid.get('name', '?')!r} has no rows")
    return rows


def build_view(
    runs: pd.DataFrame,
    *,
    datasets: list[str] | None = None,
    grid: dict[str, Any] | None = None,
    reference: str | None = None,
    test: str | None = "auto",
    alpha: float = 0.05,
    predictions: Callable[[str], pd.DataFrame] | None = None,
    reported: bool = True,
    metrics: dict[str, list[str]] | None = None,
    correction: str = "holm",
    options: dict[str, Any] | None = None,
    delta: bool | None = None,
    names: str = "paper",
    digits: int = 1,
    show_std: bool = True,
    slice_name: str | None = None,
) -> TableView:
    """Aggregate, test and rank: the `TableView` that the writers turn into text."""
    test = test or "auto"
    runs = finished_runs(runs)
    components: list[str] = []
    order: list[str]
    grid_name = ""
    if grid is not None:
        grid_name = str(grid.get("name", ""))
        spec_rows = grid_rows(grid)
        order = [str(r["name"]) for r in spec_rows]
        components = [str(c) for c in grid.get("columns", [])]
        if grid_name and "grid" in runs.columns and (runs["grid"] == grid_name).any():
            runs = runs[runs["grid"] == grid_name]
        runs = runs[runs["name"].isin(order)]
        if not grid_name and "grid" in runs.columns:
            names = sorted(set(runs["grid"].astype(str)) - {""})
            grid_name = names[0] if len(names) == 1 else ""
        marks_of = {str(r["name"]): tuple(r.get("marks", ())) for r in spec_rows}
    else:
        order = sorted(runs["row"].unique())
        marks_of = {}
    if datasets:
        datasets = [d.lower() for d in datasets]
    else:
        datasets = _order_datasets(sorted(runs["dataset"].unique()))
    runs = runs[runs["dataset"].isin(datasets)]
    if runs.empty and not reported:
        raise UserError(f"no finished runs for dataset(s) {', '.join(datasets) or '(none)'}")
    if grid is None:
        order = sorted(runs["row"].unique())
    if metrics is None:
        pick = ablation_metrics if grid is not None else headline_metrics
        metrics = {d: pick(d) for d in datasets}
    if slice_name:
        if predictions is None:
            raise UserError(f"slice {slice_name!r} needs per-utterance predictions")
        if slice_name not in SLICES:
            raise UserError(f"unknown slice {slice_name!r}; valid: {', '.join(SLICES)}")
        runs = add_slice_metrics(runs, predictions, slice_name, metrics)
        metrics = {d: [*ms, *(f"{m}@{slice_name}" for m in ms)] for d, ms in metrics.items()}
    columns = [(d, m) for d in datasets for m in metrics[d]]
    headers = {(d, m): metric_header(d, m, names) for d, m in columns}

    notes: list[str] = []
    if grid is not None and reference in (None, ""):
        reference = str(grid.get("reference") or order[-1])
        if reference not in set(runs["row"]) and test != "none":
            notes.append(f"No significance test: the reference row {reference} has no runs yet.")
            test = "none"
    elif reference not in (None, "", "best") and reference not in set(runs["row"]):
        known = {r.name for r in load_reported(datasets)} if reported and grid is None else set()
        if reference not in known:
            raise UserError(f"reference row {reference!r} has no finished runs")
        notes.append(f"The reference {reference} is a reported row: no significance test.")
        test = "none"
    cells = aggregate(runs, datasets=datasets, metrics=metrics) if not runs.empty else None
    if test == "none" or runs.empty:
        comparisons, plans = pd.DataFrame(columns=["dataset", "metric", "row", "significant"]), {}
    else:
        comparisons, plans = compare_rows(
            runs, datasets=datasets, metrics=metrics, rows=order, reference=reference,
            test=test, alpha=alpha, correction=correction, predictions=predictions,
            options=options,
        )  # fmt: skip
    significant = {
        (r.dataset, r.metric, r.row)
        for r in comparisons.itertuples(index=False)
        if bool(r.significant)
    }
    rows: list[RowView] = []
    for name in order:
        row_cells: dict[tuple[str, str], CellView] = {}
        if cells is not None:
            for rec in cells[cells["row"] == name].itertuples(index=False):
                key = (rec.dataset, rec.metric)
                row_cells[key] = CellView(
                    value=None if math.isnan(rec.mean) else float(rec.mean),
                    std=None if math.isnan(rec.std) else float(rec.std),
                    n=int(rec.n), n_expected=int(rec.n_expected),
                    dagger=(rec.dataset, rec.metric, name) in significant,
                    incomplete=not bool(rec.complete), missing=str(rec.missing),
                )  # fmt: skip
        rows.append(RowView(name, "measured", row_cells, marks_of.get(name, ())))
    if reported:
        rows += _reported_rows(datasets, grid, grid_name, marks_of)
    _rank(rows, columns, digits)
    if delta is None:
        delta = grid is None
    deltas = _deltas(rows, columns, reference) if delta else None
    title = _title(datasets, grid_name, grid)
    view = TableView(
        title, columns, headers, components, rows, deltas, [], comparisons, plans, digits, show_std
    )
    resolution = resolution_sentence(comparisons, headers, alpha)
    notes += [resolution] if resolution else []
    view.caption = _caption(view, runs, datasets, reference, names, grid) + notes
    return view


def _reported_rows(
    datasets: list[str], grid: dict | None, grid_name: str, marks_of: dict[str, tuple]
) -> list[RowView]:
    found = load_reported(
        datasets,
        grid=grid_name if grid is not None else None,
        columns=[str(c) for c in grid.get("columns", [])] if grid is not None else None,
    )
    out = []
    by_marks = {frozenset(m): n for n, m in marks_of.items()}
    for rep in found:
        name, marks = rep.name, rep.marks
        if grid is not None:
            if name not in marks_of and frozenset(marks) in by_marks:
                name = by_marks[frozenset(marks)]
            if name not in marks_of:
                continue
            marks = marks_of[name]
        out.append(_reported_view(rep, name, marks))
    if grid is not None:
        order = list(marks_of)
        out.sort(key=lambda r: order.index(r.label))
    return out


def _reported_view(rep: ReportedRow, name: str, marks: tuple[str, ...]) -> RowView:
    cells = {key: CellView(value=v) for key, v in rep.values.items()}
    return RowView(name, "reported", cells, tuple(marks), rep.source)


def _rank(rows: list[RowView], columns: list[tuple[str, str]], digits: int) -> None:
    """Rank 1 / 2 for the best / second-best displayed value of each column (ties share)."""
    for col in columns:
        shown = sorted(
            {round(100 * r.cells[col].value, digits) for r in rows if _value(r, col) is not None},
            reverse=True,
        )
        for row in rows:
            value = _value(row, col)
            if value is None:
                continue
            rounded = round(100 * value, digits)
            if rounded == shown[0]:
                row.cells[col].rank = 1
            elif len(shown) > 1 and rounded == shown[1]:
                row.cells[col].rank = 2


def _value(row: RowView, col: tuple[str, str]) -> float | None:
    cell = row.cells.get(col)
    return None if cell is None else cell.value


def _deltas(
    rows: list[RowView], columns: list[tuple[str, str]], reference: str | None
) -> dict[tuple[str, str], float | None]:
    """Relative difference (%) of the focus row to the best other row, per column.

    Focus: the measured `reference` row when one is named, else the best row of the column (then
    it is the paper's ΔSota: best over second best). Positive: the focus row is ahead.
    """
    out: dict[tuple[str, str], float | None] = {}
    for col in columns:
        valued = [(r, _value(r, col)) for r in rows if _value(r, col) is not None]
        if len(valued) < 2:
            out[col] = None
            continue
        if reference not in (None, "best"):
            # the measured row named `reference`, else a reported row of that name
            named = [(r, v) for r, v in valued if r.label == reference]
            named.sort(key=lambda rv: rv[0].kind != "measured")
            if not named:
                out[col] = None
                continue
            focus_row, f = named[0]
            others = [v for r, v in valued if r is not focus_row]
        else:
            ordered = sorted((v for _, v in valued), reverse=True)
            f, others = ordered[0], ordered[1:]
        best_other = max(others)
        if f >= best_other:
            out[col] = 100.0 * (f - best_other) / best_other if best_other else None
        else:
            out[col] = -100.0 * (best_other - f) / best_other if best_other else None
    return out


def _title(datasets: list[str], grid_name: str, grid: dict | None) -> str:
    names = ", ".join(DATASET_TITLES.get(d, d) for d in datasets)
    if grid is not None:
        return f"Ablation {grid_name or 'grid'} on {names}"
    return f"Model comparison on {names}"


def _split_text(dataset: str, n_splits: int) -> str:
    card = dataset_card(dataset)
    scheme = str(card.get("protocol", {}).get("splits", ""))
    if n_splits <= 1:
        return "the official train/dev/test split"
    if "session" in scheme or dataset in ("iemocap", "synth"):
        return f"{n_splits} folds (leave one session out)"
    return f"{n_splits} splits"


def _dev_text(dataset: str) -> str:
    proto = dataset_card(dataset).get("protocol", {})
    return str(proto.get("dev_rule_text") or DEV_RULES.get(dataset) or proto.get("dev_rule", ""))


def _caption(
    view: TableView,
    runs: pd.DataFrame,
    datasets: list[str],
    reference: str | None,
    names: str,
    grid: dict | None,
) -> list[str]:
    lines = []
    std = " ± std" if view.show_std else ""
    lines.append(
        f"{view.title}: test-set metrics in %, mean{std} over folds and seeds"
        + (" (sample std, ddof = 1)." if view.show_std else ".")
    )
    for d in datasets:
        if runs.empty or d not in set(runs["dataset"]):
            lines.append(f"{DATASET_TITLES.get(d, d)}: no measured runs.")
            continue
        summary = protocol_summary(runs, d)
        seeds = summary["seeds"]
        seed_text = (
            f"{len(seeds)} seed{'s' if len(seeds) != 1 else ''} ({', '.join(map(str, seeds))})"
        )
        lines.append(
            f"{DATASET_TITLES.get(d, d)}: {_split_text(d, len(summary['splits']))} \u00d7 {seed_text}; "
            f"{_dev_text(d)}; model selection on dev, never on test."
        )
    lines.append("Metrics: " + "; ".join(_definitions(view, names)) + ".")
    has_reported = any(r.kind == "reported" for r in view.rows)
    lines.append(
        "Bold: best; underlined: second best"
        + (" (measured and reported rows)." if has_reported else ".")
    )
    if view.delta is not None:
        if reference in (None, "best"):
            lines.append(
                "\u0394: relative improvement (%) of the best row over the second best "
                "(the paper's \u0394Sota)."
            )
        else:
            lines.append(
                f"\u0394: relative difference (%) of {reference} to the best other row "
                "(\u2191 ahead, \u2193 behind)."
            )
    for sentence in dict.fromkeys(p.sentence() for p in view.plans.values()):
        lines.append(sentence)
    if any(c.incomplete for r in view.rows for c in r.cells.values()):
        lines.append(
            f"{DDAGGER}: incomplete configuration, mean of the units it has "
            "(n of the expected (split, seed) units; see the CSV for the missing ones)."
        )
        first = {}
        for d, m in view.columns:
            first.setdefault(d, m)
        for r in view.rows:
            for (d, m), c in r.cells.items():
                if c.incomplete and first.get(d) == m:
                    lines.append(
                        f"  {r.label} on {d}: {c.n}/{c.n_expected} units, missing {c.missing}."
                    )
    if any(r.kind == "reported" for r in view.rows):
        sources = sorted({r.source for r in view.rows if r.kind == "reported"})
        lines.append(
            f"{REPORTED_MARK}: reported in {', '.join(sources)}, not measured here; "
            "excluded from significance tests."
        )
    if grid is not None and any(c.lower() in ("fe_c", "cross") for c in view.components):
        lines.append("FE_c (cross-attention fusion) is reconstructed: the paper gives no code.")
    models = set(runs["model"].astype(str)) if "model" in runs.columns else set()
    if any("fdrl" in m.lower() for m in models):
        lines.append("FDRL is reconstructed from the abstract.")
    if "synth" in datasets:
        lines.append(f"synth: {SYNTH_NOTE}.")
    empty = [r.label for r in view.rows if r.kind == "measured" and not r.cells]
    if empty:
        lines.append(f"No finished runs yet: {', '.join(empty)}.")
    return lines


def _definitions(view: TableView, names: str) -> list[str]:
    by_header: dict[str, set[str]] = {}
    for col in view.columns:
        by_header.setdefault(view.headers[col], set()).add(col[1])
    out = []
    for col in view.columns:
        header, metric = view.headers[col], col[1]
        piece = split_metric(metric)[1]
        if piece is not None:
            text = SLICE_DEFINITIONS.get(piece, piece)
            if text not in out:
                out.append(text)
            continue
        definition = DEFINITIONS.get(metric, metric)
        own = OUR_NAMES.get(metric, metric)
        text = definition if definition.startswith(f"{own} =") else f"{own} = {definition}"
        if header != own:
            text = f"{header} = {text}"
        if len(by_header[header]) > 1:
            text = f"{text} ({DATASET_TITLES.get(col[0], col[0])})"
        if text not in out:
            out.append(text)
    return out

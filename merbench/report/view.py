"""The table model behind every format: aggregate, test, rank, and write the caption.

`build_view` turns a runs table into a `TableView`: measured rows (mean ± std per dataset and
metric, significance marks against the reference row, incomplete cells flagged), reported rows from
``registry/reported/`` (marked, never tested), ranks (best, second best over measured and reported
rows), the relative-improvement row like the DRKF paper's "ΔSota" (not in ablation tables, as in the
paper's Table 4), and a caption that states the protocol: datasets, folds or split, dev-split rule,
seeds, metric definitions, the test, its correction and alpha (`wording`). The writers are in
`render`.

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
from merbench.report.aggregate import aggregate, finished_runs, text_source_notes
from merbench.report.compare import Plan, compare_rows
from merbench.report.power import resolution_sentence
from merbench.report.protocols import DatasetProtocol, matches, protocol_of
from merbench.report.reported import ReportedRow, load_reported, reported_protocols
from merbench.report.rows import incomplete_rows
from merbench.report.slices import SLICES, add_slice_metrics
from merbench.report.wording import caption, metric_header

FORMATS = ("latex", "md", "csv", "terminal")


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
    titles: dict[str, str] = field(default_factory=dict)  # dataset key -> column-group title

    def title_of(self, dataset: str) -> str:
        return self.titles.get(dataset, dataset)


# ------------------------------------------------------------------------------------- building
def _select_datasets(runs: pd.DataFrame, requested: list[str] | None) -> list[str]:
    """Dataset keys of the table: the requested ones in their order (a dataset whose runs carry
    several protocols expands to one key per protocol), or every dataset of `runs`."""
    keys = sorted(runs["dataset"].astype(str).unique())
    if not requested:
        return keys
    out: list[str] = []
    for name in requested:
        found = [k for k in keys if matches(runs, k, name)] or [name.lower()]
        out += [k for k in found if k not in out]
    return out


def _protocols(
    runs: pd.DataFrame, datasets: list[str], grid: dict[str, Any] | None, grid_name: str
) -> dict[str, DatasetProtocol]:
    """Each dataset's protocol: logged by its runs, else declared by the reported tables."""
    declared = reported_protocols(
        datasets,
        grid=grid_name if grid is not None else None,
        columns=[str(c) for c in grid.get("columns", [])] if grid is not None else None,
    )
    return {d: protocol_of(runs, d, declared.get(d)) for d in datasets}


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
    runs = finished_runs(runs, grid=grid)
    components: list[str] = []
    order: list[str]
    grid_name = ""
    if grid is not None:
        grid_name = str(grid.get("name", ""))
        spec_rows = grid_rows(grid)
        order = [str(r["name"]) for r in spec_rows]
        components = [str(c) for c in grid.get("columns", [])]
        runs = runs[runs["row"].isin(order)]
        if not grid_name and "grid" in runs.columns:
            tags = sorted(set(runs["grid"].astype(str)) - {""})
            grid_name = tags[0] if len(tags) == 1 else ""
        marks_of = {str(r["name"]): tuple(r.get("marks", ())) for r in spec_rows}
    else:
        order = sorted(runs["row"].unique())
        marks_of = {}
    requested = list(datasets or [])
    datasets = _select_datasets(runs, requested)
    protocols = _protocols(runs, datasets, grid, grid_name)
    if not requested:
        datasets.sort(key=lambda d: (protocols[d].order, d))
        protocols = {d: protocols[d] for d in datasets}
    runs = runs[runs["dataset"].isin(datasets)]
    if runs.empty and not reported:
        raise UserError(f"no finished runs for dataset(s) {', '.join(datasets) or '(none)'}")
    if grid is None:
        order = sorted(runs["row"].unique())
    if metrics is None:
        metrics = {d: protocols[d].metrics(ablation=grid is not None) for d in datasets}
    if slice_name:
        if predictions is None:
            raise UserError(f"slice {slice_name!r} needs per-utterance predictions")
        if slice_name not in SLICES:
            raise UserError(f"unknown slice {slice_name!r}; valid: {', '.join(SLICES)}")
        runs = add_slice_metrics(runs, predictions, slice_name, metrics)
        metrics = {d: [*ms, *(f"{m}@{slice_name}" for m in ms)] for d, ms in metrics.items()}
    columns = [(d, m) for d in datasets for m in metrics[d]]
    headers = {(d, m): metric_header(protocols[d], m, names) for d, m in columns}

    notes: list[str] = text_source_notes(runs)
    tested = list(datasets)
    if grid is not None and reference in (None, ""):
        reference = str(grid.get("reference") or order[-1])
        if reference not in set(runs["row"]) and test != "none":
            notes.append(f"No significance test: the reference row {reference} has no runs yet.")
            test = "none"
        lacking = {d for d, r in incomplete_rows(runs) if r == reference}
        tested = [d for d in datasets if d not in lacking]
        notes += [
            f"No significance test on {d}: the reference row {reference} lacks some of its "
            "splits and seeds (name a complete one with --reference)."
            for d in datasets if d in lacking
        ]  # fmt: skip
    elif reference not in (None, "", "best") and reference not in set(runs["row"]):
        known = {r.name for r in load_reported(datasets)} if reported and grid is None else set()
        if reference not in known:
            raise UserError(f"reference row {reference!r} has no finished runs")
        notes.append(f"The reference {reference} is a reported row: no significance test.")
        test = "none"
    cells = aggregate(runs, datasets=datasets, metrics=metrics) if not runs.empty else None
    plans: dict[str, Plan] = {}
    if test == "none" or runs.empty or not tested:
        comparisons = pd.DataFrame(columns=["dataset", "metric", "row", "significant"])
    else:
        comparisons, plans = compare_rows(
            runs, datasets=tested, metrics=metrics, rows=order, reference=reference,
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
    if any(c.incomplete for r in rows for c in r.cells.values()):
        notes.append(
            "An incomplete row is never ranked best or second best, nor chosen as the best row "
            "or the reference of a test (--complete-only leaves it out)."
        )
    _rank(rows, columns, digits)
    if delta is None:
        delta = grid is None
    deltas = _deltas(rows, columns, reference) if delta else None
    if deltas is not None and all(v is None for v in deltas.values()):
        deltas = None  # a single row (or no two values in any column): no Δ row of dashes
    titles = {d: protocols[d].display for d in datasets}
    title = _title([titles[d] for d in datasets], grid_name, grid)
    view = TableView(
        title, columns, headers, components, rows, deltas, [], comparisons, plans, digits,
        show_std, titles,
    )  # fmt: skip
    resolution = resolution_sentence(comparisons, headers, alpha)
    notes += [resolution] if resolution else []
    view.caption = caption(view, runs, protocols, reference, names, grid) + notes
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
        values = [v for v in (_value(r, col) for r in rows) if v is not None]
        shown = sorted({round(100 * v, digits) for v in values}, reverse=True)
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
    """The value of `row` in `col` when it may be ranked (None: no value, or an incomplete row)."""
    cell = row.cells.get(col)
    return None if cell is None or cell.incomplete else cell.value


def _deltas(
    rows: list[RowView], columns: list[tuple[str, str]], reference: str | None
) -> dict[tuple[str, str], float | None]:
    """Relative difference (%) of the focus row to the best other row, per column.

    Focus: the measured `reference` row when one is named, else the best row of the column (then
    it is the paper's ΔSota: best over second best). Positive: the focus row is ahead.
    """
    out: dict[tuple[str, str], float | None] = {}
    for col in columns:
        valued = [(r, v) for r, v in ((r, _value(r, col)) for r in rows) if v is not None]
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


def _title(titles: list[str], grid_name: str, grid: dict | None) -> str:
    names = ", ".join(titles)
    if grid is not None:
        return f"Ablation {grid_name or 'grid'} on {names}"
    return f"Model comparison on {names}"

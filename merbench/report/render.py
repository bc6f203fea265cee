"""Paper-style tables from tracked runs: LaTeX (booktabs), Markdown, CSV and a rich terminal table.

`render_table` is what ``merbench table`` calls. It aggregates the runs (`aggregate`), compares
every row with the reference row (`compare`), adds reported rows from ``registry/reported/``
(marked, never tested), ranks cells (bold best, underlined second best, over measured and reported
rows), adds a relative-improvement row like the DRKF paper's "ΔSota" (not in ablation tables, as in
the paper's Table 4), and writes a caption that states the protocol: datasets, folds or split,
dev-split rule, seeds, metric definitions, the test, its correction and alpha.

Layouts: one row per configuration with metric columns grouped by dataset; for an ablation grid
(`grid`, the parsed ``registry/grids/<name>.toml``), the paper's Table 4 layout: one check-mark
column per component (``grid["columns"]``), rows in grid order, the Table 4 metrics per dataset.
Values are percentages with one decimal (``mean ± std`` over folds and seeds).
"""

from __future__ import annotations

import io
import math
import re
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
        f"{view.title}: test-set metrics in %, mean{std} over folds and seeds "
        "(sample std, ddof = 1)."
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
        for r in view.rows:
            for (d, m), c in r.cells.items():
                if c.incomplete and m == view.columns[0][1]:
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


# ------------------------------------------------------------------------------------- writers
def _number(value: float | None, digits: int) -> str:
    return "" if value is None else f"{100 * value:.{digits}f}"


def _cell_parts(cell: CellView | None, view: TableView, row: RowView) -> tuple[str, str, str]:
    """(number, std, marks) of a cell as plain text; number empty when there is no value."""
    if cell is None or cell.value is None:
        return "", "", ""
    std = ""
    if view.show_std and row.kind == "measured" and cell.std is not None:
        std = _number(cell.std, view.digits)
    marks = (DAGGER if cell.dagger else "") + (DDAGGER if cell.incomplete else "")
    return _number(cell.value, view.digits), std, marks


def _row_label(row: RowView) -> str:
    return row.label + (REPORTED_MARK if row.kind == "reported" else "")


def _missing_text(row: RowView) -> str:
    return "N/A" if row.kind == "reported" else "\u2013"


def _delta_text(value: float | None, latex: bool = False) -> str:
    if value is None:
        return "\u2013" if not latex else "--"
    arrow = (
        ("\u2191" if value >= 0 else "\u2193")
        if not latex
        else (r"$\uparrow$" if value >= 0 else r"$\downarrow$")
    )
    return f"{arrow} {abs(value):.2f}"


LATEX_SPECIAL = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
}  # fmt: skip
LATEX_UNICODE = {
    DAGGER: r"$^{\dagger}$", DDAGGER: r"$^{\ddagger}$", "\u00b1": r"$\pm$", "\u0394": r"$\Delta$",
    "\u2191": r"$\uparrow$", "\u2193": r"$\downarrow$", "\u2013": "--", "\u2264": r"$\le$",
    "\u2265": r"$\ge$", "\u00d7": r"$\times$", "\u03b1": r"$\alpha$",
}  # fmt: skip


def latex_escape(text: str) -> str:
    """Escape LaTeX specials in plain text, then map the symbols tables use to LaTeX."""
    out = "".join(LATEX_SPECIAL.get(ch, ch) for ch in text)
    for sym, tex in LATEX_UNICODE.items():
        out = out.replace(sym, tex)
    return out


def latex_header(name: str) -> str:
    """``FE_c`` -> ``FE$_{c}$`` (component names with a subscript, as the paper prints them)."""
    match = re.fullmatch(r"([A-Za-z]+)_([A-Za-z0-9]+)", name)
    if match:
        return f"{match.group(1)}$_{{{match.group(2)}}}$"
    return latex_escape(name)


def _latex_cell(cell: CellView | None, view: TableView, row: RowView) -> str:
    number, std, marks = _cell_parts(cell, view, row)
    if not number:
        return _missing_text(row).replace("\u2013", "--")
    if cell is not None and cell.rank == 1:
        number = rf"\textbf{{{number}}}"
    elif cell is not None and cell.rank == 2:
        number = rf"\underline{{{number}}}"
    text = number + (rf"\,{{\scriptsize$\pm${std}}}" if std else "")
    return text + latex_escape(marks)


def to_latex(view: TableView, label: str = "tab:merbench") -> str:
    """booktabs LaTeX (pandas Styler.to_latex with hrules); needs amssymb for ``\\checkmark``."""
    group_cols = [("", "Model" if not view.components else "Row")]
    group_cols += [("Methods", latex_header(c)) for c in view.components]
    group_cols += [(DATASET_TITLES.get(d, d), latex_escape(view.headers[(d, m)])) for d, m in
                   view.columns]  # fmt: skip
    body = []
    for row in view.rows:
        line = [latex_escape(row.label) + (r"$^{*}$" if row.kind == "reported" else "")]
        line += [r"\checkmark" if c in row.marks else "" for c in view.components]
        line += [_latex_cell(row.cells.get(col), view, row) for col in view.columns]
        body.append(line)
    if view.delta is not None:
        body.append([r"$\Delta$ (\%)"] + [""] * len(view.components)
                    + [_delta_text(view.delta[c], latex=True) for c in view.columns])  # fmt: skip
    frame = pd.DataFrame(body, columns=pd.MultiIndex.from_tuples(group_cols))
    spec = "l" + "c" * len(view.components) + "c" * len(view.columns)
    text = frame.style.hide(axis="index").to_latex(
        hrules=True, multicol_align="c", column_format=spec, position="t",
        position_float="centering", caption=latex_escape(" ".join(view.caption)), label=label,
    )  # fmt: skip
    return _latex_rules(text, view, group_cols)


def _latex_rules(text: str, view: TableView, group_cols: list[tuple[str, str]]) -> str:
    """Add \\cmidrule under the column groups and \\midrule before reported rows and Δ."""
    lines = text.splitlines()
    top = lines.index(r"\toprule")
    mid = lines.index(r"\midrule")
    spans, start = [], 0
    for i in range(1, len(group_cols) + 1):
        if i == len(group_cols) or group_cols[i][0] != group_cols[start][0]:
            if group_cols[start][0]:
                spans.append(rf"\cmidrule(lr){{{start + 1}-{i}}}")
            start = i
    lines.insert(top + 2, " ".join(spans))
    mid += 1
    breaks = []
    first_reported = next((i for i, r in enumerate(view.rows) if r.kind == "reported"), None)
    if first_reported not in (None, 0):
        breaks.append(first_reported)
    if view.delta is not None:
        breaks.append(len(view.rows))
    for offset, index in enumerate(sorted(breaks)):
        lines.insert(mid + 1 + index + offset, r"\midrule")
    return "\n".join(lines) + "\n"


def _plain_cell(cell: CellView | None, view: TableView, row: RowView, md: bool) -> str:
    number, std, marks = _cell_parts(cell, view, row)
    if not number:
        return _missing_text(row)
    if md and cell is not None and cell.rank == 1:
        number = f"**{number}**"
    elif md and cell is not None and cell.rank == 2:
        number = f"<u>{number}</u>"
    return number + (f" \u00b1 {std}" if std else "") + marks


def to_markdown(view: TableView) -> str:
    """A pipe table (bold best, <u>underlined</u> second best) followed by the caption notes."""
    header = ["Model" if not view.components else "Row", *view.components]
    header += [f"{DATASET_TITLES.get(d, d)} {view.headers[(d, m)]}" for d, m in view.columns]
    align = [":--"] + [":-:"] * len(view.components) + ["--:"] * len(view.columns)
    lines = [f"**{view.title}**", "", "| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    for row in view.rows:
        cells = [_row_label(row)] + ["\u2713" if c in row.marks else "" for c in view.components]
        cells += [_plain_cell(row.cells.get(col), view, row, md=True) for col in view.columns]
        lines.append("| " + " | ".join(cells) + " |")
    if view.delta is not None:
        cells = ["\u0394 (%)"] + [""] * len(view.components)
        cells += [_delta_text(view.delta[c]) for c in view.columns]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", *[f"{line}  " if not line.startswith("  ") else f"- {line.strip()}  "
                    for line in view.caption]]  # fmt: skip
    return "\n".join(lines).rstrip() + "\n"


def to_csv(view: TableView) -> str:
    """Tidy CSV, one line per (row, dataset, metric): value, std, n, completeness, test outcome."""
    tests = {
        (r.dataset, r.metric, r.row): r for r in view.comparisons.itertuples(index=False)
    } if not view.comparisons.empty else {}  # fmt: skip
    records = []
    for row in view.rows:
        for d, m in view.columns:
            cell = row.cells.get((d, m)) or CellView()
            t = tests.get((d, m, row.label)) if row.kind == "measured" else None
            records.append({
                "kind": row.kind, "row": row.label, "dataset": d, "metric": m,
                "header": view.headers[(d, m)], "mean": cell.value, "std": cell.std,
                "n": cell.n if row.kind == "measured" else None,
                "n_expected": cell.n_expected if row.kind == "measured" else None,
                "complete": (not cell.incomplete) if row.kind == "measured" else None,
                "missing": cell.missing, "rank": cell.rank or None, "source": row.source,
                "reference": getattr(t, "reference", None), "test": getattr(t, "test", None),
                "diff": getattr(t, "diff", None), "p_value": getattr(t, "p_value", None),
                "p_adjusted": getattr(t, "p_adjusted", None), "effect": getattr(t, "effect", None),
                "effect_name": getattr(t, "effect_name", None),
                "significant": getattr(t, "significant", None),
            })  # fmt: skip
    if view.delta is not None:
        for d, m in view.columns:
            records.append(
                {
                    "kind": "delta",
                    "row": "delta_pct",
                    "dataset": d,
                    "metric": m,
                    "header": view.headers[(d, m)],
                    "mean": view.delta[(d, m)],
                }
            )
    return pd.DataFrame.from_records(records).to_csv(index=False, float_format="%.6g")


def terminal_table(view: TableView) -> Any:
    """A `rich.table.Table` (bold best, underlined second best, reported rows dimmed); the
    caption lines are `view.caption` (printed below it by `to_terminal`)."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title=view.title)
    table.add_column("Model" if not view.components else "Row", no_wrap=True)
    for c in view.components:
        table.add_column(c, justify="center")
    for d, m in view.columns:
        table.add_column(f"{DATASET_TITLES.get(d, d)}\n{view.headers[(d, m)]}", justify="right")
    last_measured = max((i for i, r in enumerate(view.rows) if r.kind == "measured"), default=-1)
    for i, row in enumerate(view.rows):
        cells: list[Any] = [Text(_row_label(row), style="dim" if row.kind == "reported" else "")]
        cells += ["\u2713" if c in row.marks else "" for c in view.components]
        for col in view.columns:
            cell = row.cells.get(col)
            style = {1: "bold", 2: "underline"}.get(cell.rank if cell else 0, "")
            cells.append(Text(_plain_cell(cell, view, row, md=False), style=style))
        end = i == last_measured and i < len(view.rows) - 1
        table.add_row(*cells, end_section=end or (i == len(view.rows) - 1 and bool(view.delta)))
    if view.delta is not None:
        table.add_row("\u0394 (%)", *[""] * len(view.components),
                      *[_delta_text(view.delta[c]) for c in view.columns])  # fmt: skip
    return table


def to_terminal(view: TableView, color: bool = False, width: int | None = None) -> str:
    """The rich table as text: ANSI styles when `color`, plain box drawing otherwise; lines fit
    `width` (default: the terminal's width, so that printing the text does not re-wrap it)."""
    import shutil

    from rich.console import Console

    width = width or shutil.get_terminal_size((120, 40)).columns

    buffer = io.StringIO()
    console = Console(
        file=buffer, width=width, force_terminal=color, color_system="standard" if color else None
    )
    console.print(terminal_table(view))
    for line in view.caption:
        console.print(line, markup=False, highlight=False)
    return buffer.getvalue()


def details_frame(view: TableView) -> pd.DataFrame:
    """The comparisons behind the marks, one line per (dataset, metric, row): difference to the
    reference in points with its CI, raw and corrected p, effect size."""
    records = []
    for r in view.comparisons.itertuples(index=False):
        ci = "" if math.isnan(r.ci_low) else f"[{100 * r.ci_low:.2f}, {100 * r.ci_high:.2f}]"
        records.append({
            "Dataset": DATASET_TITLES.get(r.dataset, r.dataset),
            "Metric": view.headers.get((r.dataset, r.metric), r.metric),
            "Row": r.row, "Reference": r.reference, "Test": r.test, "n": int(r.n),
            "Diff (pts)": f"{100 * r.diff:+.2f}", "95% CI": ci, "p": f"{r.p_value:.4g}",
            "p adj.": f"{r.p_adjusted:.4g}",
            "Effect": "" if math.isnan(r.effect) else f"{r.effect_name} = {r.effect:.2f}",
            "Mark": DAGGER if r.significant else "",
        })  # fmt: skip
    return pd.DataFrame.from_records(records)


def details_text(view: TableView, fmt: str, color: bool = False) -> str:
    """`details_frame` in `fmt` (``latex`` booktabs, ``md``, ``terminal``); empty without tests."""
    frame = details_frame(view)
    if frame.empty:
        return ""
    title = "Significance tests behind the marks"
    if fmt == "latex":
        body = frame.map(lambda v: latex_escape(str(v)))
        body.columns = [latex_escape(c) for c in body.columns]
        return body.style.hide(axis="index").to_latex(
            hrules=True, position="t", position_float="centering", caption=latex_escape(title),
            label="tab:merbench-tests", column_format="lllllr" + "l" * (len(body.columns) - 6),
        )  # fmt: skip
    if fmt in ("md", "markdown"):
        lines = [f"**{title}**", "", "| " + " | ".join(frame.columns) + " |",
                 "|" + "|".join(["---"] * len(frame.columns)) + "|"]  # fmt: skip
        lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.to_numpy()]
        return "\n".join(lines) + "\n"
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in frame.columns:
        table.add_column(column, justify="right" if column in ("n", "p", "p adj.") else "left")
    for row in frame.to_numpy():
        table.add_row(*(str(v) for v in row))
    buffer = io.StringIO()
    console = Console(
        file=buffer, width=140, force_terminal=color, color_system="standard" if color else None
    )
    console.print(table)
    return buffer.getvalue()


def render_view(view: TableView, fmt: str, color: bool = False, details: bool = False) -> str:
    """`view` as text in `fmt`; with `details`, the table of comparisons follows (not for csv,
    whose lines already carry the test outcome of every cell)."""
    if fmt == "latex":
        text = to_latex(view)
    elif fmt in ("md", "markdown"):
        text = to_markdown(view)
    elif fmt == "csv":
        return to_csv(view)
    elif fmt == "terminal":
        text = to_terminal(view, color=color)
    else:
        raise UserError(f"unknown table format {fmt!r}; valid: {', '.join(FORMATS)}")
    if details:
        extra = details_text(view, fmt, color)
        text = text + ("\n" + extra if extra else "")
    return text


def render_table(
    runs: pd.DataFrame,
    *,
    datasets: list[str] | None = None,
    grid: dict[str, Any] | None = None,
    fmt: str = "terminal",
    reference: str | None = None,
    test: str | None = "auto",
    alpha: float = 0.05,
    predictions: Callable[[str], pd.DataFrame] | None = None,
    reported: bool = True,
    **options: Any,
) -> str:
    """The table of `runs` as a string in `fmt` (``latex | md | csv | terminal``).

    `datasets`: datasets side by side (default: all in `runs`). `grid`: a parsed grid file (with
    its ``name``) for the ablation layout. `reference`: the row every other row is compared with
    (default: the best row of each column; for a grid, ``grid["reference"]`` or its last row).
    `test`: a registered STAT_TESTS name, ``auto`` (see `merbench.report.stats`) or ``none``.
    `predictions(run_id)` loads per-utterance predictions (needed by utterance-level tests).
    `reported`: add the rows of ``registry/reported/*.toml``. Further keyword options: `metrics`
    (dataset -> metric names), `correction` (holm | bonferroni | none), `test_options` (e.g.
    ``{"n_resamples": 5000}``), `delta`, `names` (``paper`` or ``merbench`` headers), `digits`,
    `show_std`, `color` (ANSI styles in the terminal format), `slice` (``inconsistent`` or
    ``consistent``: add the metrics on that slice of the test utterances; needs `predictions`),
    `details` (append the table of comparisons: difference, CI, p, corrected p, effect size).
    """
    if fmt not in FORMATS and fmt != "markdown":
        raise UserError(f"unknown table format {fmt!r}; valid: {', '.join(FORMATS)}")
    color = bool(options.pop("color", False))
    details = bool(options.pop("details", False))
    test_options = options.pop("test_options", None)
    if "slice" in options:
        options["slice_name"] = options.pop("slice")
    allowed = {"metrics", "correction", "delta", "names", "digits", "show_std", "slice_name"}
    unknown = set(options) - allowed
    if unknown:
        raise UserError(f"render_table: unknown option(s) {', '.join(sorted(unknown))}")
    view = build_view(
        runs, datasets=datasets, grid=grid, reference=reference, test=test, alpha=alpha,
        predictions=predictions, reported=reported, options=test_options, **options,
    )  # fmt: skip
    return render_view(view, fmt, color=color, details=details)

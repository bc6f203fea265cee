"""Paper-style tables from tracked runs: LaTeX (booktabs), Markdown, CSV and a rich terminal table.

`render_table` is what ``merbench table`` calls: it builds the `TableView` (`merbench.report.view`:
aggregation, significance marks, reported rows, ranks, ΔSota row, caption) and writes it in one
format. LaTeX goes through pandas' ``Styler.to_latex(hrules=True)`` (booktabs rules), with
``\\cmidrule`` under the column groups and ``\\midrule`` before reported rows and the Δ row;
values are percentages with one decimal (``mean ± std`` over folds and seeds), the best bold, the
second best underlined, significant differences marked with a dagger.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable
from typing import Any

import pandas as pd

from merbench.errors import UserError
from merbench.report.view import FORMATS, CellView, RowView, TableView, build_view
from merbench.report.wording import DAGGER, DDAGGER, REPORTED_MARK

__all__ = [
    "FORMATS",
    "build_view",
    "render_table",
    "render_view",
    "to_latex",
    "to_markdown",
    "to_csv",
    "to_terminal",
    "terminal_table",
    "details_frame",
]


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


def latex_label(label: str) -> str:
    """A row label with its component names subscripted (``BME + FE_c`` -> ``BME + FE$_{c}$``;
    only an upper-case name with a one- or two-character index, so ``audio_only`` stays as is)."""
    return " ".join(
        latex_header(word) if re.fullmatch(r"[A-Z]+_[A-Za-z0-9]{1,2}", word) else latex_escape(word)
        for word in label.split(" ")
    )


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
    """booktabs LaTeX (pandas Styler.to_latex with hrules); needs the packages booktabs, amssymb
    (``\\checkmark``) and graphicx (a table wider than the line is scaled down to it); it compiles
    cleanly in `merbench.report.latex.document` (tested with pdflatex)."""
    group_cols = [("", "Model" if not view.components else "Row")]
    group_cols += [("Methods", latex_header(c)) for c in view.components]
    group_cols += [(view.title_of(d), latex_escape(view.headers[(d, m)])) for d, m in
                   view.columns]  # fmt: skip
    body = []
    for row in view.rows:
        line = [latex_label(row.label) + (r"$^{*}$" if row.kind == "reported" else "")]
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
    return _fit_line(_latex_rules(text, view, group_cols), wide=len(group_cols) > WIDE_COLUMNS)


WIDE_COLUMNS = 8  # more columns than this: ``table*`` (the full text width in two-column papers)


def _fit_line(text: str, wide: bool) -> str:
    """Typeset the tabular in a box and scale it down to the line width only when it is wider
    (graphicx's ``\\resizebox``), so that no table overflows; a wide table is a ``table*``."""
    start, end = (
        text.index(r"\begin{tabular}"),
        text.index(r"\end{tabular}") + len(r"\end{tabular}"),
    )
    fitted = (
        "\\sbox0{%\n" + text[start:end] + "}%\n"
        "\\ifdim\\wd0>\\linewidth\\resizebox{\\linewidth}{!}{\\usebox0}\\else\\usebox0\\fi"
    )
    text = text[:start] + fitted + text[end:]
    if wide:
        text = text.replace(r"\begin{table}", r"\begin{table*}").replace(
            r"\end{table}", r"\end{table*}"
        )
    return text


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


def column_groups(view: TableView) -> list[str]:
    """Per metric column, its dataset's title on the first column of the dataset's group and ""
    on the others (a dataset spans its metric columns once); all "" when the table has a single
    dataset (its title names it)."""
    datasets = [d for d, _ in view.columns]
    if len(set(datasets)) < 2:
        return [""] * len(datasets)
    return [view.title_of(d) if i == 0 or datasets[i - 1] != d else "" for i, d in
            enumerate(datasets)]  # fmt: skip


def to_markdown(view: TableView) -> str:
    """A pipe table (bold best, <u>underlined</u> second best) followed by the caption notes.
    With several datasets the header names each dataset once, over its first column, and the
    first line under it names the metrics (a pipe table has no spanning cells)."""
    groups = column_groups(view)
    metrics = [view.headers[c] for c in view.columns]
    first = ["Model" if not view.components else "Row", *view.components]
    align = [":--"] + [":-:"] * len(view.components) + ["--:"] * len(view.columns)
    if any(groups):
        header, under = first + groups, [""] * len(first) + metrics
    else:
        header, under = first + metrics, None
    lines = [f"**{view.title}**", "", "| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    if under is not None:
        lines.append("| " + " | ".join(under) + " |")
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
    groups = column_groups(view)
    for group, col in zip(groups, view.columns, strict=True):
        header = view.headers[col] if not any(groups) else f"{group}\n{view.headers[col]}"
        table.add_column(header, justify="right")
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


def _mde_text(mde: float) -> str:
    if math.isnan(mde):
        return ""
    return "unreachable" if math.isinf(mde) else f"{100 * mde:.2f}"


def details_frame(view: TableView) -> pd.DataFrame:
    """The comparisons behind the marks, one line per (dataset, metric, row): difference to the
    reference in points with its CI, raw and corrected p, effect size, and the minimum detectable
    difference (MDE: what the test could have detected at alpha with 80% power)."""
    records = []
    for r in view.comparisons.itertuples(index=False):
        ci = "" if math.isnan(r.ci_low) else f"[{100 * r.ci_low:.2f}, {100 * r.ci_high:.2f}]"
        records.append({
            "Dataset": view.title_of(r.dataset),
            "Metric": view.headers.get((r.dataset, r.metric), r.metric),
            "Row": r.row, "Reference": r.reference, "Test": r.test, "n": int(r.n),
            "Diff (pts)": f"{100 * r.diff:+.2f}", "95% CI": ci, "p": f"{r.p_value:.4g}",
            "p adj.": f"{r.p_adjusted:.4g}",
            "Effect": "" if math.isnan(r.effect) else f"{r.effect_name} = {r.effect:.2f}",
            "MDE (pts)": _mde_text(r.mde),
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
        text = body.style.hide(axis="index").to_latex(
            hrules=True, position="t", position_float="centering", caption=latex_escape(title),
            label="tab:merbench-tests", column_format="lllllr" + "l" * (len(body.columns) - 6),
        )  # fmt: skip
        return _fit_line(text, wide=True)
    if fmt in ("md", "markdown"):
        lines = [f"**{title}**", "", "| " + " | ".join(frame.columns) + " |",
                 "|" + "|".join(["---"] * len(frame.columns)) + "|"]  # fmt: skip
        lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.to_numpy()]
        return "\n".join(lines) + "\n"
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in frame.columns:
        right = column in ("n", "p", "p adj.", "MDE (pts)")
        table.add_column(column, justify="right" if right else "left")
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

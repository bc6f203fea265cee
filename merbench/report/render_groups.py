"""Per-group tables (`merbench.report.groups`) as text: terminal, Markdown, LaTeX (booktabs) and
CSV (one line per configuration and group, values in [0, 1])."""

from __future__ import annotations

import io
from collections.abc import Callable

import pandas as pd

from merbench.errors import UserError
from merbench.report.groups import GroupTable, group_tables, wide_frame
from merbench.report.render_latex import WIDE_COLUMNS, fit_line, latex_escape

GROUP_FORMATS = ("terminal", "md", "latex", "csv")


def render_groups(
    runs: pd.DataFrame, by: str, predictions: Callable[[str], pd.DataFrame], fmt: str = "terminal"
) -> str:
    """The per-group tables of `runs` (one per dataset) in `fmt`, each followed by its caption."""
    if fmt not in GROUP_FORMATS:
        raise UserError(f"--by has no --format {fmt}: use {', '.join(GROUP_FORMATS)}")
    tables = group_tables(runs, by, predictions)
    if fmt == "csv":
        return _csv(tables)
    write = {"terminal": _terminal, "md": _markdown, "latex": group_latex}[fmt]
    return "\n".join(write(t) for t in tables)


def _markdown(table: GroupTable) -> str:
    frame = wide_frame(table)
    lines = ["| " + " | ".join(frame.columns) + " |",
             "|" + "|".join([":--", "--:", *["--:"] * len(table.rows)]) + "|"]  # fmt: skip
    lines += ["| " + " | ".join(map(str, r)) + " |" for r in frame.itertuples(index=False)]
    return "\n".join(lines) + f"\n\n{table.caption}\n"


def _terminal(table: GroupTable) -> str:
    import shutil

    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    out = Table(title=table.dataset)
    frame = wide_frame(table)
    for i, column in enumerate(frame.columns):
        out.add_column(Text(str(column)), justify="left" if i == 0 else "right", no_wrap=i == 0)
    for record in frame.itertuples(index=False):
        out.add_row(*(Text(str(c)) for c in record))
    buffer = io.StringIO()
    width = shutil.get_terminal_size((120, 40)).columns
    console = Console(file=buffer, width=width, color_system=None)
    console.print(out)
    console.print(table.caption, markup=False, highlight=False)
    return buffer.getvalue()


def group_latex(table: GroupTable) -> str:
    """One per-group table as a booktabs LaTeX table with its caption, scaled down to the line
    width when it is wider (a ``table*`` with many configurations), as the main table is."""
    frame = wide_frame(table)
    esc = [latex_escape(str(c)) for c in frame.columns]
    lines = [r"\begin{table}[t]", r"\centering", r"\begin{tabular}{l" + "r" * (len(esc) - 1) + "}",
             r"\toprule", " & ".join(esc) + r" \\", r"\midrule"]  # fmt: skip
    for record in frame.itertuples(index=False):
        cells = [latex_escape(str(c)) for c in record]
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}",
              rf"\caption{{{latex_escape(table.caption)}}}",
              r"\end{table}"]  # fmt: skip
    return fit_line("\n".join(lines) + "\n", wide=len(esc) > WIDE_COLUMNS)


def _csv(tables: list[GroupTable]) -> str:
    records = [
        {"dataset": t.dataset, "by": t.by, "group": g, "n": t.counts[g], "row": r,
         "mean": cell[0], "std": cell[1], "runs": cell[2]}
        for t in tables for g in t.groups for r in t.rows
        if (cell := t.cells.get((g, r))) is not None
    ]  # fmt: skip
    return pd.DataFrame.from_records(records).to_csv(index=False)

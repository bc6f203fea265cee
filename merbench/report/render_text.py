"""A table as Markdown, tidy CSV or a rich terminal table.

Markdown and the terminal table print the best value bold and the second best underlined, with
the caption notes below; with several datasets, each dataset's title spans its metric columns
(`merbench.report.cells.column_groups`). CSV has one line per (row, dataset, metric) with the
test outcome of that cell.
"""

from __future__ import annotations

import io
from typing import Any

import pandas as pd

from merbench.report.cells import _delta_text, _plain_cell, _row_label, column_groups
from merbench.report.view import CellView, TableView


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

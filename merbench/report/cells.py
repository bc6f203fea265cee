"""Cell formatting shared by every table format (`render_latex`, `render_text`, `html`).

A measured value is a percentage with `view.digits` decimals; its std (over folds and seeds)
follows when `view.show_std`, on measured rows only; the marks are a dagger (significant
difference to the reference) and a double dagger (incomplete: fewer runs than expected). A cell
without a value prints a dash (``N/A`` on a reported row).
"""

from __future__ import annotations

import math

from merbench.report.view import CellView, RowView, TableView
from merbench.report.wording import DAGGER, DDAGGER, REPORTED_MARK


def mean_std_text(cell: tuple[float, float, int] | None) -> str:
    """A ``(mean, std, runs)`` cell as ``mean ± std`` in percent with one decimal: the mean alone
    when std is NaN (one run), "-" without runs. Used by the per-group, per-condition and
    cross-corpus tables."""
    if cell is None or cell[2] == 0:
        return "-"
    mean, std, _ = cell
    return f"{100 * mean:.1f}" + ("" if math.isnan(std) else f" ± {100 * std:.1f}")


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

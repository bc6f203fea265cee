"""Paper-style tables from tracked runs: LaTeX (booktabs), Markdown, CSV and a rich terminal table.

`render_table` is what ``merbench table`` calls: it builds the `TableView` (`merbench.report.view`:
aggregation, significance marks, reported rows, ranks, ΔSota row, caption) and writes it in one
format: LaTeX in `merbench.report.render_latex`, Markdown, CSV and the terminal table in
`merbench.report.render_text`, the table of comparisons (``details``) in
`merbench.report.details`; the cell formatting they share is `merbench.report.cells`. Values are
percentages with one decimal (``mean ± std`` over folds and seeds), the best bold, the second best
underlined, significant differences marked with a dagger.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from merbench.errors import UserError
from merbench.report.details import details_frame, details_text
from merbench.report.render_latex import latex_escape, to_latex
from merbench.report.render_text import terminal_table, to_csv, to_markdown, to_terminal
from merbench.report.view import FORMATS, TableView, build_view

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
    "details_text",
    "latex_escape",
]


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

"""The significance tests behind a table's marks, as a table of their own (``--details``).

One line per (dataset, metric, row): the difference to the reference in points with its CI, raw
and corrected p, the raw level a mark needs (alpha / m under the correction), the effect size and
the minimum detectable difference at that level, in LaTeX, Markdown or the terminal
(`details_text`).
"""

from __future__ import annotations

import io
import math

import pandas as pd

from merbench.report.render_latex import fit_line, latex_escape
from merbench.report.view import TableView
from merbench.report.wording import DAGGER


def _mde_text(mde: float) -> str:
    if math.isnan(mde):
        return ""
    return "unreachable" if math.isinf(mde) else f"{100 * mde:.2f}"


def details_frame(view: TableView) -> pd.DataFrame:
    """The comparisons behind the marks, one line per (dataset, metric, row): difference to the
    reference in points with its CI, raw and corrected p, effect size, and the minimum detectable
    difference (MDE: the smallest true difference that earns a mark with 80% power, i.e. whose raw
    p reaches alpha / m, m the comparisons of the column's correction family, column ``α/m``)."""
    records = []
    for r in view.comparisons.itertuples(index=False):
        ci = "" if math.isnan(r.ci_low) else f"[{100 * r.ci_low:.2f}, {100 * r.ci_high:.2f}]"
        records.append({
            "Dataset": view.title_of(r.dataset),
            "Metric": view.headers.get((r.dataset, r.metric), r.metric),
            "Row": r.row, "Reference": r.reference, "Test": r.test, "n": int(r.n),
            "Diff (pts)": f"{100 * r.diff:+.2f}", "95% CI": ci, "p": f"{r.p_value:.4g}",
            "p adj.": f"{r.p_adjusted:.4g}",
            "\u03b1/m": "" if math.isnan(getattr(r, "mde_alpha", math.nan)) else f"{r.mde_alpha:.4g}",
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
        return fit_line(text, wide=True)
    if fmt in ("md", "markdown"):
        lines = [f"**{title}**", "", "| " + " | ".join(frame.columns) + " |",
                 "|" + "|".join(["---"] * len(frame.columns)) + "|"]  # fmt: skip
        lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.to_numpy()]
        return "\n".join(lines) + "\n"
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in frame.columns:
        right = column in ("n", "p", "p adj.", "\u03b1/m", "MDE (pts)")
        table.add_column(column, justify="right" if right else "left")
    for row in frame.to_numpy():
        table.add_row(*(str(v) for v in row))
    buffer = io.StringIO()
    console = Console(
        file=buffer, width=140, force_terminal=color, color_system="standard" if color else None
    )
    console.print(table)
    return buffer.getvalue()

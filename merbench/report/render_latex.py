"""A table as booktabs LaTeX (what ``merbench table --format latex`` writes).

LaTeX goes through pandas' ``Styler.to_latex(hrules=True)`` (booktabs rules), with ``\\cmidrule``
under the column groups and ``\\midrule`` before reported rows and the Δ row; the best value is
bold, the second best underlined, significant differences are marked with a dagger. A table wider
than the line is scaled down to it (`fit_line`); one with more than `WIDE_COLUMNS` columns is a
``table*``. `latex_escape` maps plain text (and the symbols tables use) to LaTeX.
"""

from __future__ import annotations

import re

import pandas as pd

from merbench.report.cells import _cell_parts, _delta_text, _missing_text
from merbench.report.view import CellView, RowView, TableView
from merbench.report.wording import DAGGER, DDAGGER

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
    return fit_line(_latex_rules(text, view, group_cols), wide=len(group_cols) > WIDE_COLUMNS)


WIDE_COLUMNS = 8  # more columns than this: ``table*`` (the full text width in two-column papers)


def fit_line(text: str, wide: bool) -> str:
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

"""``merbench report``: one self-contained HTML page per grid (and the same content as a PDF when
pdflatex is present), what a researcher attaches as supplementary material.

The page holds the paper-style table with its caption, the comparisons behind its marks (p values,
effect sizes, minimum detectable differences), the recall per class, the figures (forest plot,
confusion matrices, t-SNE, critical-difference diagram, per-epoch loss and dev curves), the
loss-balance log when the runs logged one, and the environment (merbench version, git commit and device of the runs; Python,
platform and package versions of the machine that wrote the report). Images are embedded as
base64 PNG, so the HTML file is the whole report; the PNG files are also kept in ``figures/``.
"""

from __future__ import annotations

import base64
import html
import platform
import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from merbench.errors import UserError
from merbench.files import disk_write, write_atomic
from merbench.report.aggregate import finished_runs
from merbench.report.cells import _plain_cell
from merbench.report.details import details_frame, details_text
from merbench.report.groups import GroupTable, group_tables, wide_frame
from merbench.report.render_groups import group_latex
from merbench.report.render_latex import latex_escape, to_latex
from merbench.report.view import TableView, build_view

PACKAGES = ("merbench", "torch", "mlflow", "numpy", "pandas", "scipy", "scikit-learn", "autorank")
History = Callable[[str, str], Sequence[tuple[int, float]]]


@dataclass
class Report:
    """What `write_report` wrote: the HTML page, the PDF (None without pdflatex) and notes on
    what could not be drawn (with the reason)."""

    html: Path
    pdf: Path | None
    figures: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------------- pieces
def table_html(view: TableView) -> str:
    """The table as HTML: each dataset named once over its metric columns, best bold, second
    best underlined, reported rows in italics, the caption below."""
    esc = html.escape
    first = ["Model" if not view.components else "Row", *view.components]
    head = "<tr>" + "".join(f'<th rowspan="2">{esc(c)}</th>' for c in first)
    spans: list[list[Any]] = []  # [dataset, number of its metric columns]
    for dataset, _ in view.columns:
        if spans and spans[-1][0] == dataset:
            spans[-1][1] += 1
        else:
            spans.append([dataset, 1])
    head += "".join(f'<th colspan="{n}">{esc(view.title_of(d))}</th>' for d, n in spans)
    head += "</tr>"
    head += "<tr>" + "".join(f"<th>{esc(view.headers[c])}</th>" for c in view.columns) + "</tr>"
    body = []
    for row in view.rows:
        label = row.label + ("*" if row.kind == "reported" else "")
        cells = [f'<td class="label">{esc(label)}</td>']
        cells += [f"<td>{'&#10003;' if c in row.marks else ''}</td>" for c in view.components]
        for col in view.columns:
            cell = row.cells.get(col)
            tag = {1: "b", 2: "u"}.get(cell.rank if cell else 0)
            text = esc(_plain_cell(cell, view, row, md=False))
            cells.append(f"<td>{f'<{tag}>{text}</{tag}>' if tag else text}</td>")
        kind = ' class="reported"' if row.kind == "reported" else ""
        body.append(f"<tr{kind}>" + "".join(cells) + "</tr>")
    caption = "".join(f"<p>{esc(line)}</p>" for line in view.caption)
    return (
        f'<table class="paper"><thead>{head}</thead><tbody>{"".join(body)}</tbody></table>'
        f'<div class="caption">{caption}</div>'
    )


def frame_html(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, border=0, classes="plain", escape=True)


def image_html(path: Path, caption: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (
        f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def environment(tags: pd.DataFrame) -> list[tuple[str, str]]:
    """(name, value) lines: the distinct merbench versions, git commits and devices of the runs
    (`tags`: columns ``version``, ``git_commit``, ``device``, one row per run), then this machine's
    Python, platform and package versions."""
    lines = []
    for column, name in (("version", "merbench version of the runs"),
                         ("git_commit", "git commit of the runs"), ("device", "device of the runs")):  # fmt: skip
        values = sorted({str(v) for v in tags.get(column, pd.Series(dtype=str)).dropna() if v})
        lines.append((name, ", ".join(values) or "not recorded"))
    lines.append(("Python", sys.version.split()[0]))
    lines.append(("platform", platform.platform()))
    for package in PACKAGES:
        try:
            lines.append((package, metadata.version(package)))
        except metadata.PackageNotFoundError:
            lines.append((package, "not installed"))
    return lines


def plot_curves(runs: pd.DataFrame, history: History, out_dir: Path, rows: list[str]) -> list[Path]:
    """Per dataset, the per-epoch training loss (``train/total``) and dev curve of the first
    headline metric, averaged per configuration over its runs (folds and seeds)."""
    from merbench.report.plots import _figure
    from merbench.report.protocols import headline_metrics

    paths = []
    for dataset in sorted(runs["dataset"].unique()):
        sub = runs[runs["dataset"] == dataset]
        metric = next(m for m in headline_metrics(runs, dataset) if m != "avg")
        fig = _figure(9.0, 3.4)
        axes = fig.subplots(1, 2)
        drawn = False
        for name in [r for r in rows if r in set(sub["row"])]:
            ids = sub.loc[sub["row"] == name, "run_id"]
            for ax, keys in ((axes[0], ["train/total"]),
                             (axes[1], [f"dev_curve/{metric}"])):  # fmt: skip
                curve = _mean_curve([_history(history, i, keys) for i in ids])
                if len(curve) > 1:
                    ax.plot(curve.index, curve.to_numpy(), label=name, linewidth=1.2)
                    drawn = True
        if not drawn:
            continue
        axes[0].set(title="training loss (train/total)", xlabel="epoch", ylabel="loss")
        axes[1].set(title=f"dev {metric} (per epoch)", xlabel="epoch", ylabel=metric)
        if not axes[1].lines:  # runs made before dev curves were logged
            axes[1].text(0.5, 0.5, f"no dev_curve/{metric} logged", ha="center",
                         transform=axes[1].transAxes)  # fmt: skip
        (axes[1] if axes[1].lines else axes[0]).legend(fontsize=6, loc="best")
        fig.suptitle(f"{dataset}: mean over folds and seeds", fontsize=9)
        out = out_dir / f"curves_{dataset}.png"
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out)
        paths.append(out)
    return paths


def _history(history: History, run_id: str, keys: list[str]) -> pd.Series:
    for key in keys:
        points = history(run_id, key)
        if len(points) > 1:
            return pd.Series({int(s): float(v) for s, v in points}).sort_index()
    return pd.Series(dtype=float)


def _mean_curve(curves: list[pd.Series]) -> pd.Series:
    curves = [c for c in curves if len(c)]
    if not curves:
        return pd.Series(dtype=float)
    return pd.concat(curves, axis=1).mean(axis=1, skipna=True).astype(np.float64)


# ------------------------------------------------------------------------------------- the page
STYLE = """body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:13px}
th,td{padding:3px 8px;text-align:right}td.label,th:first-child{text-align:left}
table.paper{border-top:2px solid #000;border-bottom:2px solid #000}
table.paper thead tr:last-child th{border-bottom:1px solid #000}
tr.reported td{font-style:italic;color:#555}.caption{font-size:12px;color:#333}
.caption p{margin:.2em 0}figure{display:inline-block;margin:.5em;vertical-align:top}
figure img{max-width:100%}figcaption{font-size:12px;color:#555}
table.plain td,table.plain th{border-bottom:1px solid #ddd;text-align:left}
table.paper th[colspan]{text-align:center;border-bottom:1px solid #000}"""


def write_report(
    runs: pd.DataFrame,
    *,
    grid: dict[str, Any],
    out_dir: Path,
    predictions: Callable[[str], pd.DataFrame] | None = None,
    embeddings: Callable[[str], tuple[np.ndarray, Sequence[str]]] | None = None,
    history: History | None = None,
    tags: pd.DataFrame | None = None,
    alpha: float = 0.05,
) -> Report:
    """Write ``out_dir/<grid>.html`` (and ``<grid>.pdf`` with pdflatex) for the finished `runs`
    of `grid`; see the module docstring for the content. A full disk is `DiskFull` naming
    `out_dir` (or the file being written); the page and the PDF are each whole or absent."""
    with disk_write(out_dir, "the report"):
        return _write_report(runs, grid=grid, out_dir=out_dir, predictions=predictions,
                             embeddings=embeddings, history=history, tags=tags,
                             alpha=alpha)  # fmt: skip


def _write_report(
    runs: pd.DataFrame,
    *,
    grid: dict[str, Any],
    out_dir: Path,
    predictions: Callable[[str], pd.DataFrame] | None,
    embeddings: Callable[[str], tuple[np.ndarray, Sequence[str]]] | None,
    history: History | None,
    tags: pd.DataFrame | None,
    alpha: float,
) -> Report:
    from merbench.report.balance import balance_frame
    from merbench.report.cd import cd_summary, plot_cd_files
    from merbench.report.plots import plot_files

    name = str(grid.get("name") or "grid")
    rows = [str(r["name"]) for r in grid.get("rows", [])]
    runs = finished_runs(runs, grid=grid)
    view = build_view(runs, grid=grid, predictions=predictions, alpha=alpha)
    figures_dir = out_dir / "figures"
    notes: list[str] = []
    figures = plot_files(runs, out_dir=figures_dir, grid=grid, predictions=predictions,
                         embeddings=embeddings, alpha=alpha)  # fmt: skip
    cd_text = ""
    try:
        cd_path, cd = plot_cd_files(runs, figures_dir, rows=rows, alpha=alpha, name=f"cd_{name}")
        figures.append(cd_path)
        cd_text = cd_summary(cd)
    except UserError as exc:
        notes.append(f"critical-difference diagram not drawn: {exc}")
    if history is not None:
        figures += plot_curves(runs, history, figures_dir, rows)
    try:
        balance = balance_frame(runs)
    except UserError:  # runs that logged no loss balance: the section is left out
        balance = pd.DataFrame()

    parts = [f"<h1>{html.escape(view.title)}</h1>",
             f"<p>{html.escape(str(grid.get('description', '')))}</p>",
             "<h2>Table</h2>", table_html(view)]  # fmt: skip
    details = details_frame(view)
    parts += ["<h2>Significance tests behind the marks</h2>",
              frame_html(details) if not details.empty else "<p>No significance test.</p>"]  # fmt: skip
    if cd_text:
        parts += ["<h2>Critical-difference diagram (average ranks)</h2>",
                  f"<pre>{html.escape(cd_text)}</pre>"]  # fmt: skip
    classes = _class_tables(runs, predictions, notes)
    for table in classes:
        parts += [f"<h2>Recall per class: {html.escape(table.dataset)}</h2>",
                  frame_html(wide_frame(table)), f"<p>{html.escape(table.caption)}</p>"]  # fmt: skip
    parts.append("<h2>Figures</h2>")
    parts += [image_html(p, _figure_caption(p)) for p in figures]
    if not balance.empty:
        parts += ["<h2>Loss balance (first training steps)</h2>", frame_html(balance)]
    env = environment(tags if tags is not None else pd.DataFrame())
    parts += ["<h2>Environment</h2>", frame_html(pd.DataFrame(env, columns=["", "value"]))]
    if notes:
        parts += ["<h2>Not drawn</h2>"] + [f"<p>{html.escape(n)}</p>" for n in notes]
    page = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(view.title)}</title><style>{STYLE}</style></head>"
            f"<body>{''.join(parts)}</body></html>\n")  # fmt: skip
    out_dir.mkdir(parents=True, exist_ok=True)
    page_path = out_dir / f"{name}.html"
    write_atomic(page_path, page, "the report's page")
    tex = [group_latex(t) for t in classes]
    pdf = _write_pdf(view, figures, balance, env, out_dir / f"{name}.pdf", notes, tex)
    return Report(page_path, pdf, figures, notes)


def _class_tables(
    runs: pd.DataFrame, predictions: Callable[[str], pd.DataFrame] | None, notes: list[str]
) -> list[GroupTable]:
    """The recall-per-class tables of `runs` (`merbench.report.groups`); none, with a note, when
    the predictions cannot give them."""
    if predictions is None:
        return []
    try:
        return group_tables(runs, "class", predictions)
    except UserError as exc:
        notes.append(f"recall per class not shown: {exc}")
        return []


def _figure_caption(path: Path) -> str:
    kind = path.stem.split("_", 1)[0]
    names = {"forest": "Forest plot of the differences to the reference",
             "confusion": "Confusion matrix (row-normalised, counts in brackets)",
             "tsne": "t-SNE of the fused test representations",
             "cd": "Critical-difference diagram (Friedman + Nemenyi)",
             "curves": "Per-epoch training loss and dev metric"}  # fmt: skip
    return f"{names.get(kind, kind)}: {path.stem}"


def _write_pdf(view: TableView, figures: list[Path], balance: pd.DataFrame,
               env: list[tuple[str, str]], out: Path, notes: list[str],
               tables: Sequence[str] = ()) -> Path | None:  # fmt: skip
    """The same content as LaTeX compiled with pdflatex; None (with a note) without it."""
    from merbench.report.latex import LatexError, compile_pdf, document

    if shutil.which("pdflatex") is None:
        notes.append("PDF not written: pdflatex not found")
        return None
    body = [to_latex(view), details_text(view, "latex") or "", *tables]
    for path in figures:
        body.append("\\begin{center}\\includegraphics[width=\\linewidth,height=0.4\\textheight,"
                    f"keepaspectratio]{{{path.resolve()}}}\\\\\n\\small "
                    f"{latex_escape(_figure_caption(path))}\\end{{center}}")  # fmt: skip
    if not balance.empty:
        body.append(
            "\\section*{Loss balance}" + _latex_lines(balance.astype(str).agg(" ".join, axis=1))
        )
    body.append("\\section*{Environment}" + _latex_lines([f"{k}: {v}" for k, v in env]))
    try:
        return compile_pdf(document(*body), out)
    except LatexError as exc:
        notes.append(f"PDF not written: {exc}")
        return None


def _latex_lines(lines: Any) -> str:
    return (
        "\\begin{flushleft}\\small "
        + "\\\\\n".join(latex_escape(str(x)) for x in lines)
        + ("\\end{flushleft}\n")
    )

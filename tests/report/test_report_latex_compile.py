"""Every LaTeX table shape the renderer produces compiles with pdflatex, with no error and no
overfull box, in the minimal document of `merbench.report.latex` (what a paper gives a table).

pdflatex is required: `make test` installs TeX Live and poppler from Debian's packages when they
are missing. Set ``MERBENCH_ALLOW_NO_TEX=1`` to skip these tests on a machine without TeX (never
under CI; `make test-fast` sets it); without it a missing pdflatex fails them.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
from report_helpers import on_dataset
from test_report_render import GOLDEN, GRID, TABLE4_GRID, no_runs, synth_runs

from merbench.report.latex import LatexError, compile_pdf, document, pdf_to_png
from merbench.report.render import render_table

if shutil.which("pdflatex") is None:
    if os.environ.get("MERBENCH_ALLOW_NO_TEX") == "1":
        pytest.skip("pdflatex missing and MERBENCH_ALLOW_NO_TEX=1", allow_module_level=True)
    pytest.fail(
        "pdflatex not found: install texlive-latex-base texlive-latex-recommended poppler-utils "
        "(or set MERBENCH_ALLOW_NO_TEX=1 to skip the LaTeX compile tests)",
        pytrace=False,
    )


def side_by_side() -> pd.DataFrame:
    synth = synth_runs()
    iemocap = on_dataset(synth, "iemocap").assign(run_id=synth["run_id"] + "-i")
    meld = on_dataset(synth, "meld").assign(run_id=synth["run_id"] + "-m")
    return pd.concat([synth, iemocap, meld], ignore_index=True)


def incomplete() -> pd.DataFrame:
    runs = synth_runs()
    return runs[~((runs["name"] == "BME") & (runs["split"] == "5"))]


SHAPES = {
    "single dataset": lambda: render_table(synth_runs(), fmt="latex", reported=False),
    "single dataset, details": lambda: render_table(
        synth_runs(), fmt="latex", reported=False, details=True
    ),
    "datasets side by side": lambda: render_table(side_by_side(), fmt="latex", reported=False),
    "table 4 layout, datasets side by side": lambda: render_table(
        side_by_side(), grid=GRID, fmt="latex", reported=False
    ),
    "table 4 layout, reported rows": lambda: render_table(
        no_runs(), grid=TABLE4_GRID, datasets=["iemocap", "meld", "m3ed"], fmt="latex"
    ),
    "reported rows beside measured ones, delta row": lambda: render_table(
        on_dataset(synth_runs(), "iemocap"), datasets=["iemocap"], fmt="latex"
    ),
    "m3ed reported table": lambda: render_table(
        no_runs(), datasets=["m3ed"], fmt="latex", reference="DRKF"
    ),
    "incomplete cells": lambda: render_table(incomplete(), fmt="latex", reported=False),
    "table 4 layout, one dataset, two digits": lambda: render_table(
        synth_runs(), grid=GRID, fmt="latex", reported=False, show_std=True, digits=2
    ),
}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_table_compiles_without_error_or_overfull_box(shape: str, tmp_path: Path) -> None:
    tex = SHAPES[shape]()
    pdf = compile_pdf(document(tex), tmp_path / "table.pdf")
    assert pdf.read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize("golden", sorted(p.name for p in GOLDEN.glob("*.tex")))
def test_golden_tables_compile(golden: str, tmp_path: Path) -> None:
    compile_pdf(document((GOLDEN / golden).read_text()), tmp_path / "golden.pdf")


def test_all_shapes_in_one_document_and_png(tmp_path: Path) -> None:
    pdf = compile_pdf(document(*(make() for make in SHAPES.values())), tmp_path / "all.pdf")
    png = pdf_to_png(pdf, tmp_path / "all.png")
    from PIL import Image

    with Image.open(png) as image:
        assert image.width > 200 and image.height > 100


def test_an_overfull_table_and_a_latex_error_are_reported(tmp_path: Path) -> None:
    wide = "\\begin{tabular}{" + "c" * 40 + "}\n" + " & ".join(["wide cell"] * 40) + "\\\\\n"
    with pytest.raises(LatexError, match="Overfull"):
        compile_pdf(document(wide + "\\end{tabular}\n"), tmp_path / "wide.pdf")
    with pytest.raises(LatexError, match="Undefined control sequence"):
        compile_pdf(document("\\nosuchmacro\n"), tmp_path / "bad.pdf")

"""Compile a table's LaTeX with ``pdflatex``: the minimal document a paper gives it, the check that
it compiles cleanly, and the PDF or PNG of it for a quick look.

The document (`document`) is what a two-column paper gives a full-width table: ``article`` on US
letter with 1.9 cm margins (17.8 cm of text, the width of ACM's and IEEE's ``table*``) and the
packages the tables need, `PACKAGES` (booktabs; amssymb for ``\\checkmark``; graphicx, with which a
table wider than the line is scaled down to it). Debian's ``texlive-latex-base`` and
``texlive-latex-recommended`` hold all of them; ``pdftoppm`` (``poppler-utils``) makes the PNG.

`compile_pdf` raises `LatexError` on any LaTeX error and on any overfull box (a table that does not
fit); a missing ``pdflatex`` or ``pdftoppm`` is a `UserError` naming what to install.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from merbench.errors import UserError
from merbench.files import write_atomic

PACKAGES = ("booktabs", "amssymb", "graphicx")
DEBIAN_PACKAGES = "texlive-latex-base texlive-latex-recommended poppler-utils"
PROBLEM = re.compile(r"^(!.*|Overfull \\[hv]box.*|LaTeX Error.*|.*Undefined control sequence.*)$")


class LatexError(Exception):
    """pdflatex failed, or reported an overfull box; the message quotes the log lines."""


def document(*bodies: str) -> str:
    """A minimal document holding `bodies` (tables, in order), with the packages they need."""
    return (
        "\\documentclass{article}\n"
        "\\usepackage[letterpaper,margin=1.9cm]{geometry}\n"
        f"\\usepackage{{{','.join(PACKAGES)}}}\n"
        "\\pagestyle{empty}\n"
        "\\begin{document}\n" + "\n".join(bodies) + "\\end{document}\n"
    )


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise UserError(
            f"{name} not found: install TeX Live and poppler (Debian: apt-get install "
            f"{DEBIAN_PACKAGES})"
        )
    return path


def log_problems(log: str) -> list[str]:
    """The lines of a pdflatex log that report an error or an overfull box."""
    return [line for line in log.splitlines() if PROBLEM.match(line)]


def compile_pdf(tex: str, out: Path) -> Path:
    """Compile the LaTeX document `tex` to the PDF `out`. Raises `LatexError` (with the log's
    problem lines) when pdflatex fails or reports an overfull box."""
    pdflatex = _tool("pdflatex")
    with tempfile.TemporaryDirectory(prefix="merbench-tex-") as tmp:
        source = Path(tmp) / "table.tex"
        source.write_text(tex, encoding="utf-8")
        done = subprocess.run(
            [pdflatex, "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape",
             source.name],
            cwd=tmp, capture_output=True, text=True, errors="replace", timeout=120,
        )  # fmt: skip
        log_file = source.with_suffix(".log")
        log = log_file.read_text(errors="replace") if log_file.exists() else done.stdout
        problems = log_problems(log)
        if done.returncode != 0 or problems:
            shown = "; ".join(problems[:5]) or f"pdflatex exit status {done.returncode}"
            raise LatexError(f"LaTeX does not compile cleanly: {shown}")
        out.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(out, source.with_suffix(".pdf").read_bytes(), "the PDF")
    return out


def pdf_to_png(pdf: Path, out: Path, dpi: int = 150) -> Path:
    """The first page of `pdf` as the PNG `out`, cropped to its content (with a small margin)."""
    pdftoppm = _tool("pdftoppm")
    stem = out.with_suffix("")
    subprocess.run([pdftoppm, "-png", "-r", str(dpi), "-singlefile", str(pdf), str(stem)],
                   check=True, capture_output=True, timeout=120)  # fmt: skip
    from PIL import Image, ImageOps

    image = Image.open(stem.with_suffix(".png")).convert("RGB")
    box = ImageOps.invert(image).getbbox()
    if box is not None:
        pad = dpi // 10
        box = (max(box[0] - pad, 0), max(box[1] - pad, 0),
               min(box[2] + pad, image.width), min(box[3] + pad, image.height))  # fmt: skip
        image = image.crop(box)
    image.save(out)
    return out


def require_tools(fmt: str) -> None:
    """A `UserError` naming what to install unless the tools ``pdf`` (pdflatex) or ``png``
    (pdflatex and pdftoppm) need are on the PATH."""
    _tool("pdflatex")
    if fmt == "png":
        _tool("pdftoppm")


def render_file(table_tex: str, out: Path, fmt: str) -> Path:
    """Write the table `table_tex` as ``pdf`` or ``png`` to `out`. A table that does not compile
    cleanly is a `UserError` (with pdflatex's lines)."""
    require_tools(fmt)
    try:
        if fmt == "pdf":
            return compile_pdf(document(table_tex), out)
        with tempfile.TemporaryDirectory(prefix="merbench-png-") as tmp:
            pdf = compile_pdf(document(table_tex), Path(tmp) / "table.pdf")
            out.parent.mkdir(parents=True, exist_ok=True)
            return pdf_to_png(pdf, out)
    except LatexError as exc:
        raise UserError(f"--format {fmt}: {exc}") from None

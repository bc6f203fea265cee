"""`merbench report`'s page: parsed as HTML, it holds the paper-style table with its caption, the
tests behind the marks, the environment, and every figure (forest, confusion matrices, t-SNE, CD
diagram, per-epoch curves) as a non-empty embedded PNG; the PDF has the same content."""

from __future__ import annotations

import base64
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
from report_helpers import make_runs

from merbench.report.html import write_report

GRID = {
    "name": "toy",
    "description": "three rows",
    "columns": ["BME", "ED"],
    "rows": [
        {"name": "A", "marks": ["BME"]},
        {"name": "B", "marks": ["BME", "ED"]},
        {"name": "C", "marks": ["ED"]},
    ],
}
LABELS = ["ang", "hap", "neu", "sad"]


def runs() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    values = {
        name: {(str(k + 1), 0): {"ua": base + 0.03 * rng.standard_normal(),
                                 "wa": base + 0.03 * rng.standard_normal()} for k in range(5)}
        for name, base in (("A", 0.55), ("B", 0.60), ("C", 0.65))
    }  # fmt: skip
    return make_runs(values, grid="toy")


def predictions(run_id: str) -> pd.DataFrame:
    rng = np.random.default_rng(abs(hash(run_id)) % 2**32)
    labels = [LABELS[i % 4] for i in range(24)]
    guess = [lab if rng.random() < 0.6 else LABELS[rng.integers(4)] for lab in labels]
    return pd.DataFrame({"id": [f"u{i}" for i in range(24)], "label": labels, "prediction": guess})


def embeddings(run_id: str) -> tuple[np.ndarray, list[str]]:
    rng = np.random.default_rng(1)
    labels = [LABELS[i % 4] for i in range(24)]
    return rng.standard_normal((24, 8)) + np.repeat(np.eye(4, 8) * 3, 6, axis=0), labels


def history(run_id: str, key: str) -> list[tuple[int, float]]:
    if key == "train/total":
        return [(e, 2.0 / (e + 1)) for e in range(6)]
    if key == "dev_curve/ua":
        return [(e, 0.4 + 0.03 * e) for e in range(6)]
    return []


class Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[bytes] = []
        self.tables: list[str] = []
        self.headings: list[str] = []
        self._tag = ""
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attrs = dict(attrs)
        self._tag = tag
        if tag == "img":
            src = attrs["src"]
            assert src.startswith("data:image/png;base64,")
            self.images.append(base64.b64decode(src.split(",", 1)[1]))
        if tag == "table":
            self.tables.append(attrs.get("class", ""))

    def handle_data(self, data: str) -> None:
        if self._tag in ("h1", "h2"):
            self.headings.append(data)
        self.text.append(data)


def test_report_page_has_the_table_and_every_figure(tmp_path: Path) -> None:
    tags = pd.DataFrame({"version": ["0.1.0"], "git_commit": ["abc123"], "device": ["cpu"]})
    report = write_report(runs(), grid=GRID, out_dir=tmp_path, predictions=predictions,
                          embeddings=embeddings, history=history, tags=tags)  # fmt: skip
    page = Page()
    page.feed(report.html.read_text())
    text = " ".join(page.text)
    assert "paper" in page.tables  # the table, then details, environment
    assert "Ablation toy on synth" in page.headings[0]
    assert "Resolution: differences below" in text  # the caption
    assert "Significance tests behind the marks" in page.headings
    assert "abc123" in text and "cpu" in text and "Python" in text
    kinds = sorted(p.stem.split("_", 1)[0] for p in report.figures)
    # forest, 3 confusion matrices, 3 t-SNE, the CD diagram, the curves
    assert kinds == ["cd", "confusion", "confusion", "confusion", "curves", "forest", "tsne",
                     "tsne", "tsne"]  # fmt: skip
    assert len(page.images) == len(report.figures) == 9
    assert all(img.startswith(b"\x89PNG") and len(img) > 2000 for img in page.images)
    if shutil.which("pdflatex"):
        assert report.pdf is not None and report.pdf.read_bytes().startswith(b"%PDF")
    assert report.notes == []


def test_report_page_has_the_recall_per_class(tmp_path: Path) -> None:
    report = write_report(runs(), grid=GRID, out_dir=tmp_path, predictions=predictions,
                          embeddings=None, history=None)  # fmt: skip
    page = Page()
    page.feed(report.html.read_text())
    assert "Recall per class: synth" in page.headings
    assert page.headings.index("Recall per class: synth") < page.headings.index("Figures")
    # row A's recall of "hap", recomputed from its five runs (one per fold)
    recall = []
    for k in range(5):
        frame = predictions(f"synth-A-{k + 1}-0")
        hap = frame[frame["label"] == "hap"]
        recall.append(float((hap["prediction"] == "hap").mean()))
    cell = f"{100 * np.mean(recall):.1f} ± {100 * np.std(recall, ddof=1):.1f}"
    text = report.html.read_text()
    section = text.split("Recall per class: synth", 1)[1].split("<h2>", 1)[0]
    # six "hap" utterances per fold: n = 30
    assert re.search(rf"<td>hap</td>\s*<td>30</td>\s*<td>{re.escape(cell)}</td>", section)

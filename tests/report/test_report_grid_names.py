"""A grid given without a name takes the name of its runs' grid tag, and nothing else: the headers
keep the papers' metric names (``ACC``/``WACC``), as with a named grid."""

from __future__ import annotations

from report_helpers import make_runs

from merbench.report.view import build_view

GRID = {
    "columns": ["BME", "ED"],
    "rows": [{"name": "BME", "marks": ["BME"]}, {"name": "BME + ED", "marks": ["BME", "ED"]}],
}


def test_an_unnamed_grid_found_by_the_runs_tag_keeps_the_paper_metric_names() -> None:
    units = {
        name: {(str(k), 0): {"ua": 0.5 + 0.01 * k + shift, "wa": 0.6 + shift} for k in range(1, 6)}
        for name, shift in (("BME", 0.0), ("BME + ED", 0.02))
    }
    runs = make_runs(units, grid="toy-grid")
    view = build_view(runs, grid=GRID, test="none")
    assert [view.headers[c] for c in view.columns] == ["ACC", "WACC"]
    assert view.title.startswith("Ablation toy-grid on ")
    assert [r.label for r in view.rows] == ["BME", "BME + ED"]

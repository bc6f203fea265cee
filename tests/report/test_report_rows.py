"""Rows are configurations: named by what they are, chosen by name, incomplete ones never best."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
from report_helpers import make_runs, search_frame, task_for

from merbench.errors import UserError
from merbench.experiment import tracking
from merbench.experiment.recipes import configurations
from merbench.report.aggregate import finished_runs
from merbench.report.cd import block_scores
from merbench.report.render import build_view
from merbench.report.rows import identified, ignored_note, incomplete_rows, select_rows

GRID = {
    "name": "toy",
    "columns": ["BME", "ED"],
    "rows": [{"name": "BME", "marks": ["BME"]}, {"name": "DRKF", "marks": ["BME", "ED"]}],
}


def five_folds(values: list[float]) -> dict[tuple[str, int], dict[str, float]]:
    return {(str(k + 1), 0): {"ua": v, "wa": v} for k, v in enumerate(values)}


def test_two_differently_overridden_drkf_runs_get_two_readable_rows() -> None:
    gated = configurations(recipe="drkf", overrides={"fusion.name": "cross"})[0]
    code = configurations(recipe="drkf", variant="code", overrides={"fusion.layers": 2})[0]
    tasks = []
    for conf, key in ((gated, "cfg-cross"), (code, "cfg-code")):
        task = task_for(conf.name, "synth", "fold1", 0, config=conf.config)
        task = dataclasses.replace(task, readable=conf.readable, config_key=key,
                                   run_key=f"{key}-fold1-0")  # fmt: skip
        tasks.append((task, {"test/ua": 0.5, "test/wa": 0.5}))
    runs = finished_runs(tracking.runs_table(search_frame(tasks)))
    assert sorted(runs["row"]) == ["drkf [fusion=cross]", "drkf [variant=code, fusion.layers=2]"]
    assert {r.label for r in build_view(runs, reported=False).rows} == set(runs["row"])


def test_a_label_names_its_configuration_and_a_clash_is_told_apart_by_key() -> None:
    runs = make_runs({"A": five_folds([0.6] * 5), "B": five_folds([0.5] * 5)})
    runs.loc[(runs["name"] == "A") & (runs["split"] == "3"), "label"] = "mine"
    named = finished_runs(runs)
    assert sorted(named["row"].unique()) == ["B", "mine"]  # every run of A's config key
    clash = runs.assign(label="")
    clash.loc[clash["name"] == "B", "readable"] = "A"
    assert sorted(finished_runs(clash)["row"].unique()) == ["A (cfg-A)", "A (cfg-B)"]


def test_runs_without_identity_tags_are_ignored_and_hide_no_row() -> None:
    runs = make_runs({"BME": five_folds([0.6] * 5), "DRKF": five_folds([0.7] * 5)}, grid="toy")
    stray = runs[runs["name"] == "BME"].head(2).assign(run_key="", config_key="")
    stray["test/ua"] = 0.0
    both = pd.concat([runs, stray], ignore_index=True)
    kept, ignored = identified(both)
    assert (len(kept), ignored) == (10, 2)
    assert ignored_note(2).startswith("2 finished runs without merbench's identity tags")
    view = build_view(both, grid=GRID, reported=False)
    bme = next(r for r in view.rows if r.label == "BME")
    assert bme.cells[("synth", "ua")].value == pytest.approx(0.6)
    assert bme.cells[("synth", "ua")].n == 5


def test_a_grid_row_is_filled_by_a_run_of_its_configuration_whatever_launched_it() -> None:
    bme = make_runs({"BME": five_folds([0.6] * 5)}, grid="toy")
    by_run = make_runs({"drkf": five_folds([0.7] * 5)})  # `merbench run`, no grid tag
    runs = pd.concat([bme, by_run], ignore_index=True)
    assert "DRKF" not in set(finished_runs(runs, grid=GRID)["row"])
    named = finished_runs(runs, grid=GRID, members={"cfg-drkf": "DRKF"})
    assert sorted(named["row"].unique()) == ["BME", "DRKF"]
    view = build_view(named, grid=GRID, reported=False)
    cells = {r.label: r.cells[("synth", "ua")] for r in view.rows}
    assert cells["DRKF"].value == pytest.approx(0.7) and cells["DRKF"].n == 5
    assert not any("No finished runs" in line for line in view.caption)


def runs_with_one_fold_row() -> pd.DataFrame:
    """A, B, C, D complete on 5 folds; X has folds 1 to 3 only, with the best score of all."""
    values = {
        "A": five_folds([0.70, 0.73, 0.71, 0.74, 0.72]),  # mean 0.72
        "B": five_folds([0.61, 0.62, 0.64, 0.60, 0.63]),  # mean 0.62
        "C": five_folds([0.50, 0.52, 0.51, 0.53, 0.54]),
        "D": five_folds([0.40, 0.43, 0.41, 0.44, 0.42]),
    }
    values["X"] = five_folds([0.95, 0.91, 0.97])
    return make_runs(values)


def test_an_incomplete_row_is_flagged_but_never_best_or_reference() -> None:
    runs = runs_with_one_fold_row()
    assert incomplete_rows(finished_runs(runs)) == {("synth", "X")}
    view = build_view(runs, reported=False, test="ttest")
    cells = {r.label: r.cells[("synth", "ua")] for r in view.rows}
    assert cells["X"].incomplete and cells["X"].rank == 0
    assert cells["A"].rank == 1 and cells["B"].rank == 2
    assert set(view.comparisons["reference"]) == {"A"}
    assert any("An incomplete row is never ranked best" in line for line in view.caption)
    # the Δ row: best complete row A (mean 72.0) over B (62.0)
    assert view.delta[("synth", "ua")] == pytest.approx(100 * (0.72 - 0.62) / 0.62)


def test_rows_exclude_and_complete_only_choose_rows() -> None:
    runs = finished_runs(runs_with_one_fold_row())
    chosen, _ = select_rows(runs, rows=["[AB]", "X"])
    assert sorted(chosen["row"].unique()) == ["A", "B", "X"]
    chosen, _ = select_rows(runs, exclude=["X", "C"])
    assert sorted(chosen["row"].unique()) == ["A", "B", "D"]
    chosen, _ = select_rows(runs, exclude=["A"], complete_only=True)
    assert sorted(chosen["row"].unique()) == ["B", "C", "D"]
    with pytest.raises(UserError, match=r"--rows 'Z\*' matches no row; rows: A, B, C, D, X"):
        select_rows(runs, rows=["Z*"])
    with pytest.raises(UserError, match="leaves no row"):
        select_rows(runs, exclude=["?"])  # every name is one character


def test_a_grid_keeps_only_the_chosen_rows_of_its_layout() -> None:
    runs = make_runs({"BME": five_folds([0.6] * 5)}, grid="toy")
    named = finished_runs(runs, grid=GRID)
    _, grid = select_rows(named, rows=["D*"], grid=GRID)
    assert [r["name"] for r in grid["rows"]] == ["DRKF"]
    chosen, grid = select_rows(named, complete_only=True, grid=GRID)
    assert [r["name"] for r in grid["rows"]] == ["BME"]  # DRKF has no runs at all


def test_cd_uses_the_configurations_complete_on_every_block() -> None:
    scores, notes = block_scores(runs_with_one_fold_row())
    assert list(scores.columns) == ["A", "B", "C", "D"]
    assert list(scores.index) == [f"synth/{k}" for k in range(1, 6)]
    assert notes[0] == "synth: left out, with fewer than its 5 splits: X (3)"


def test_an_incomplete_grid_reference_is_not_tested_against() -> None:
    runs = make_runs(
        {"BME": five_folds([0.6, 0.61, 0.62, 0.63, 0.64]), "DRKF": five_folds([0.7] * 4)},
        grid="toy",
    )  # DRKF, the grid's reference (its last row), lacks fold 5
    view = build_view(runs, grid=GRID, reported=False, test="ttest")
    assert view.comparisons.empty and not view.plans
    assert any("No significance test on synth: the reference row DRKF lacks" in line
               for line in view.caption)  # fmt: skip
    cells = {r.label: r.cells[("synth", "ua")] for r in view.rows}
    assert cells["DRKF"].incomplete and cells["DRKF"].rank == 0 and cells["BME"].rank == 1

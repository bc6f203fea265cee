"""Aggregation over folds and seeds, checked against numbers computed by hand."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from report_helpers import make_runs, on_dataset, protocol_json

from merbench.errors import UserError
from merbench.report.aggregate import aggregate, finished_runs, unit_matrix
from merbench.report.protocols import headline_metrics

# two configurations, 3 folds x 1 seed; B lacks fold 3
RUNS = make_runs({
    "A": {("1", 0): {"ua": 0.60, "wa": 0.70}, ("2", 0): {"ua": 0.70, "wa": 0.80},
          ("3", 0): {"ua": 0.80, "wa": 0.90}},
    "B": {("1", 0): {"ua": 0.50, "wa": 0.40}, ("2", 0): {"ua": 0.90, "wa": 0.60}},
})  # fmt: skip


def cell(frame: pd.DataFrame, row: str, metric: str) -> pd.Series:
    return frame[(frame["row"] == row) & (frame["metric"] == metric)].iloc[0]


def test_mean_and_sample_std_match_hand_computation() -> None:
    agg = aggregate(RUNS, metrics={"synth": ["ua", "wa", "avg"]})
    a_ua = cell(agg, "A", "ua")
    assert a_ua["mean"] == pytest.approx(0.70)
    # deviations -0.1, 0, 0.1: sum of squares 0.02 / (3 - 1) = 0.01 -> std 0.1
    assert a_ua["std"] == pytest.approx(0.10)
    assert (a_ua["n"], a_ua["n_expected"], a_ua["complete"]) == (3, 3, True)
    # avg is recomputed per run from ua and wa: A runs 0.65, 0.75, 0.85
    assert cell(agg, "A", "avg")["mean"] == pytest.approx(0.75)
    b_wa = cell(agg, "B", "wa")
    assert b_wa["mean"] == pytest.approx(0.50)
    assert b_wa["std"] == pytest.approx(math.sqrt(0.02))  # (0.1^2 + 0.1^2) / 1


def test_incomplete_configuration_is_flagged_not_silently_averaged() -> None:
    agg = aggregate(RUNS, metrics={"synth": ["ua"]})
    b = cell(agg, "B", "ua")
    assert (b["n"], b["n_expected"], bool(b["complete"])) == (2, 3, False)
    assert b["missing"] == "3/seed0"
    assert b["mean"] == pytest.approx(0.70)


def test_unit_matrix_aligns_units_and_leaves_gaps() -> None:
    matrix = unit_matrix(finished_runs(RUNS), "synth", "ua")
    assert list(matrix.index) == [("1", 0), ("2", 0), ("3", 0)]
    assert math.isnan(matrix.loc[("3", 0), "B"])


def test_failed_runs_ignored_and_same_name_other_config_gets_own_row() -> None:
    extra = make_runs({"A": {("1", 0): {"ua": 0.1}}})
    extra["config_key"] = "cfg-other"
    failed = make_runs({"A": {("2", 0): {"ua": 0.0}}})
    failed["status"] = "FAILED"
    runs = finished_runs(pd.concat([RUNS, extra, failed], ignore_index=True))
    assert sorted(runs["row"].unique()) == ["A (cfg-A)", "A (cfg-oth)", "B"]
    assert len(runs) == 6


def test_headline_metrics_come_from_the_protocol_the_runs_logged() -> None:
    assert headline_metrics(RUNS, "synth") == ["ua", "wa", "avg"]  # logged from datasets/synth.toml
    assert headline_metrics(on_dataset(RUNS, "meld"), "meld") == ["wa", "wf1", "avg"]
    m3ed = on_dataset(RUNS, "m3ed")
    assert headline_metrics(m3ed, "m3ed") == ["precision", "recall", "wa", "wf1", "avg"]
    own = RUNS.assign(protocol=protocol_json("synth", headline_metrics=["wf1", "ua", "avg"]))
    assert headline_metrics(own, "synth") == ["wf1", "ua", "avg"]
    # runs without a logged protocol (a store written before protocols were logged): the default
    assert headline_metrics(RUNS.drop(columns=["protocol"]), "synth") == ["ua", "wa", "avg"]


def test_runs_of_one_dataset_with_two_protocols_are_never_averaged_together() -> None:
    multi = protocol_json("m3ed", title="M3ED (multi-label)", headline_metrics=["micro_f1", "avg"])
    single = on_dataset(RUNS, "m3ed")
    both = pd.concat([single, single.assign(protocol=multi, run_id=single["run_id"] + "-m")])
    runs = finished_runs(both)
    assert sorted(runs["dataset"].unique()) == ["M3ED", "M3ED (multi-label)"]
    assert len(runs) == 2 * len(RUNS)


def test_missing_column_is_a_user_error() -> None:
    with pytest.raises(UserError, match="split"):
        aggregate(RUNS.drop(columns=["split"]))


def test_axis_tags_hold_the_axis_values_of_every_table4_row() -> None:
    # the tags of the real runner, read back by the real tags-to-table conversion: the `ed`
    # column is the axis value (on/off), not the ED head's plugin name

    from report_helpers import search_frame, task_for

    from merbench.experiment import tracking
    from merbench.experiment.recipes import configurations

    confs = configurations(grid="drkf-table4")
    frame = search_frame([
        (task_for(c.name, "synth", "1", 0, c.grid, c.config), {"test/ua": 0.5})
        for c in confs
    ])  # fmt: skip
    runs = tracking.runs_table(frame).set_index("name")
    expected = {
        "BME": ("none", "self", "off"),
        "BME + CMIE": ("cmie", "self", "off"),
        "BME + PCMI": ("pcmi", "self", "off"),
        "BME + ED": ("none", "self", "on"),
        "BME + PCMI + FE_c + ED": ("pcmi", "cross", "on"),
        "DRKF (BME + PCMI + FE_s + ED)": ("pcmi", "self", "on"),
    }
    for name, (augmentation, fusion, ed) in expected.items():
        row = runs.loc[name]
        assert (row["augmentation"], row["fusion"], row["ed"]) == (augmentation, fusion, ed)
        assert (row["model"], row["variant"], row["grid"]) == ("composed", "paper", "drkf-table4")

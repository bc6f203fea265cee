"""Terminal and Markdown headers read like the paper's: a dataset is named once over its metric
columns (never "synth | synth | synth"), and a table with a single model has no Δ row."""

from __future__ import annotations

import re

import pandas as pd
from report_helpers import on_dataset
from test_report_render import synth_runs

from merbench.report.render import build_view, render_table, to_terminal


def two_datasets() -> pd.DataFrame:
    synth = synth_runs()
    iemocap = on_dataset(synth, "iemocap").assign(run_id=synth["run_id"] + "-i")
    return pd.concat([synth, iemocap], ignore_index=True)


def test_single_dataset_markdown_header_names_metrics_only() -> None:
    md = render_table(synth_runs(), fmt="md", reported=False).splitlines()
    assert md[0] == "**Model comparison on synth**"
    assert md[2] == "| Model | ACC | WACC | Avg |"
    assert md[4].startswith("| BME |")  # no line of metric names under a single dataset


def test_several_datasets_are_named_once_over_their_columns() -> None:
    md = render_table(two_datasets(), fmt="md", reported=False).splitlines()
    assert md[2] == "| Model | IEMOCAP |  |  | synth |  |  |"
    assert md[4] == "|  | ACC | WACC | Avg | ACC | WACC | Avg |"


def test_terminal_header_has_each_dataset_once() -> None:
    text = to_terminal(build_view(two_datasets(), reported=False), width=200)
    header = text.split("BME", 1)[0]  # title and header, before the first row
    assert header.count("IEMOCAP") == 2  # the title "... on IEMOCAP, synth" and one header cell
    assert len(re.findall(r"\bACC\b", header)) == len(re.findall(r"\bWACC\b", header)) == 2


def test_no_delta_row_with_a_single_model() -> None:
    one = synth_runs()
    one = one[one["name"] == "DRKF"]
    view = build_view(one, reported=False)
    assert view.delta is None
    md = render_table(one, fmt="md", reported=False)
    assert "Δ" not in md and "| DRKF |" in md
    assert "Δ" not in to_terminal(view, width=160)
    assert "delta" not in render_table(one, fmt="csv", reported=False)
    two = render_table(synth_runs(), fmt="md", reported=False)
    assert "| Δ (%) |" in two

"""Per-group results (`merbench table --by`): cells recomputed by hand from the predictions, the
counts per group, the length bins, and one-line errors for what the predictions cannot give."""

from __future__ import annotations

import io
import math
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
from report_helpers import make_runs

from merbench.errors import UserError
from merbench.report.groups import group_tables, length_bin
from merbench.report.render_groups import render_groups

#: Test part of each split: (id, label, speaker, gender, seconds).
TEST_PART = {
    "1": [("u1", "ang", "S1", "F", 2.0), ("u2", "hap", "S1", "F", 3.5),
          ("u3", "ang", "S2", "M", 4.0), ("u4", "hap", "S2", "M", 6.0)],
    "2": [("u5", "ang", "S3", "F", 2.5), ("u6", "hap", "S3", "F", 3.0),
          ("u7", "ang", "S4", "M", 5.5), ("u8", "hap", "S4", "M", 4.5)],
}  # fmt: skip
#: Ids each run of configuration A gets wrong (B gets everything right).
WRONG_A = {("1", 0): set(), ("1", 1): {"u1"}, ("2", 0): {"u5", "u7"}, ("2", 1): set()}


def runs() -> pd.DataFrame:
    values = {name: {unit: {"ua": 0.5} for unit in WRONG_A} for name in ("A", "B")}
    return make_runs(values)


def predictions(run_id: str, gender: bool = True) -> pd.DataFrame:
    """The predictions of run ``synth-<row>-<split>-<seed>`` (the run key `make_runs` gives)."""
    _, row, split, seed = run_id.split("-")
    wrong = WRONG_A[(split, int(seed))] if row == "A" else set()
    flip = {"ang": "hap", "hap": "ang"}
    frame = pd.DataFrame(TEST_PART[split], columns=["id", "label", "speaker", "gender", "seconds"])
    frame["prediction"] = [
        flip[lab] if i in wrong else lab for i, lab in zip(frame.id, frame.label, strict=True)
    ]
    return frame if gender else frame.drop(columns="gender")


def cells(by: str) -> dict[tuple[str, str], str]:
    """(group, row) -> Markdown cell, plus (group, "n") -> the count."""
    lines = render_groups(runs(), by, predictions, "md").splitlines()
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    out = {}
    for line in lines[2:]:
        if not line.startswith("|"):
            break
        values = [c.strip() for c in line.strip("|").split("|")]
        out.update({(values[0], h): v for h, v in zip(header[1:], values[1:], strict=True)})
    return out


def test_recall_per_class_is_the_mean_and_std_of_each_runs_recall() -> None:
    # A's recall of ang per run: fold 1 seed 0: 2/2, seed 1: 1/2 (u1 wrong); fold 2 seed 0: 0/2
    # (u5 and u7 wrong), seed 1: 2/2 -> mean 0.625, sample std sqrt(0.6875 / 3)
    table = cells("class")
    std = math.sqrt((0.375**2 + 0.125**2 + 0.625**2 + 0.375**2) / 3)
    assert table[("ang", "A")] == f"62.5 ± {100 * std:.1f}" == "62.5 ± 47.9"
    assert table[("hap", "A")] == "100.0 ± 0.0" == table[("ang", "B")]
    assert table[("ang", "n")] == "4"  # two per split, counted once over the two seeds


def test_accuracy_per_speaker_uses_only_the_runs_that_test_the_speaker() -> None:
    # S1 is tested in fold 1 only: seed 0 gets u1 and u2 right (1.0), seed 1 only u2 (0.5)
    table = cells("speaker")
    assert table[("S1", "A")] == "75.0 ± 35.4"  # mean 0.75, std sqrt(2 * 0.25**2)
    assert table[("S3", "A")] == "75.0 ± 35.4"  # u5 wrong with seed 0 only
    assert table[("S4", "A")] == "75.0 ± 35.4" and table[("S2", "A")] == "100.0 ± 0.0"
    assert {table[(s, "n")] for s in ("S1", "S2", "S3", "S4")} == {"2"}
    [synth] = group_tables(runs(), "speaker", predictions)
    assert synth.cells[("S1", "A")][2] == 2 and synth.groups == ["S1", "S2", "S3", "S4"]


def test_gender_and_length_bins() -> None:
    table = cells("gender")
    # F in fold 1: u1, u2 (seed 1: u1 wrong); fold 2: u5, u6 (seed 0: u5 wrong)
    assert table[("F", "A")] == "75.0 ± 28.9" and table[("F", "n")] == "4"
    assert [length_bin(s) for s in (2.99, 3.0, 4.99, 5.0, math.nan)] == [
        "under 3 s", "3-5 s", "3-5 s", "5 s and over", None,
    ]  # fmt: skip
    lengths = cells("length")
    assert {lengths[(b, "n")] for b in ("under 3 s", "3-5 s", "5 s and over")} == {"2", "4"}
    assert lengths[("under 3 s", "n")] == "2" and lengths[("5 s and over", "n")] == "2"


def test_what_the_predictions_cannot_give_is_one_user_error() -> None:
    with pytest.raises(UserError, match=r"--by gender: the predictions of run synth-A-1-0 hold "
                       r"no genders"):  # fmt: skip
        group_tables(runs(), "gender", lambda run_id: predictions(run_id, gender=False))
    with pytest.raises(UserError, match="--by age: expected class, speaker, gender, length"):
        group_tables(runs(), "age", predictions)


def test_latex_and_csv_formats() -> None:
    latex = render_groups(runs(), "class", predictions, "latex")
    assert r"ang & 4 & 62.5 $\pm$ 47.9 & 100.0 $\pm$ 0.0 \\" in latex
    csv = pd.read_csv(io.StringIO(render_groups(runs(), "speaker", predictions, "csv")))
    s1 = csv[(csv.group == "S1") & (csv.row == "A")].iloc[0]
    assert (s1["mean"], s1["runs"], s1["n"]) == (0.75, 2, 2)


def log_runs(results: Path, gender: bool) -> None:
    """The runs of `runs()` logged to the store under `results` the way the runner logs them (its
    tags, the protocol tag, a metric, the predictions artifact), without training."""
    from report_helpers import protocol_json, task_for

    from merbench.experiment import tracking
    from merbench.experiment.runner import run_tags

    results.mkdir(parents=True, exist_ok=True)
    uri = f"sqlite:///{results / 'mlflow.db'}"
    for row in ("A", "B"):
        for split, seed in WRONG_A:
            task = task_for(row, "synth", split, seed)
            tags = run_tags(task) | {tracking.PROTOCOL_TAG: protocol_json("synth")}
            with tracking.TrackedRun(uri, task.name, tags) as run:
                run.log_metrics({"test/ua": 0.5})
                frame = predictions(f"synth-{row}-{split}-{seed}", gender=gender)
                run.log_artifacts({"predictions.parquet": frame})


def test_table_by_through_the_command_line(cli_env: dict[str, str], merbench) -> None:
    results = Path(cli_env["MERBENCH_RESULTS"])
    log_runs(results, gender=False)
    speaker = merbench(cli_env, "table", "--by", "speaker", "--format", "md")
    assert speaker.returncode == 0, speaker.stderr
    assert "| S1 | 2 | 75.0 ± 35.4 | 100.0 ± 0.0 |" in speaker.stdout
    gender = merbench(cli_env, "table", "--by", "gender")
    assert gender.returncode == 2
    [line] = gender.stderr.strip().splitlines()  # one line, no traceback
    assert line.startswith("error: --by gender: the predictions of run ")
    assert line.endswith("hold no genders (its corpus does not record them, or the run predates "
                         "their logging)")  # fmt: skip
    assert gender.stdout == ""


@pytest.mark.skipif(
    shutil.which("pdflatex") is None and os.environ.get("MERBENCH_ALLOW_NO_TEX") == "1",
    reason="pdflatex missing and MERBENCH_ALLOW_NO_TEX=1",
)
def test_a_wide_latex_table_compiles_without_overfull_box(tmp_path: Path) -> None:
    from merbench.report.latex import compile_pdf, document

    names = [f"DRKF (BME + PCMI + FE_s + ED) {k}" for k in range(6)]
    wide = make_runs({name: {unit: {"ua": 0.5} for unit in WRONG_A} for name in names})
    latex = render_groups(wide, "speaker", predictions, "latex")
    assert r"\resizebox{\linewidth}" in latex
    assert compile_pdf(document(latex), tmp_path / "t.pdf").read_bytes().startswith(b"%PDF")

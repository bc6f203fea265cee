"""Rows through the command line: a configuration fills its grid row whatever command ran it,
stray runs are ignored with a note, and --rows / --exclude / --complete-only choose rows in
`table`, `plot` and `report`. A 3-session corpus of 8 utterances per session and one epoch keep
the runs short."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

TINY = [
    "--dataset-option", "sessions=3", "--dataset-option", "utterances_per_session=8",
    "--set", "train.max_epochs=1", "--set", "model_options.d=32",
]  # fmt: skip
GRID_ROWS = ["BME", "BME + CMIE", "BME + PCMI", "BME + ED", "BME + PCMI + FE_c + ED",
             "DRKF (BME + PCMI + FE_s + ED)"]  # fmt: skip


def md_rows(text: str) -> dict[str, list[str]]:
    """Markdown table rows: first cell -> the other cells."""
    out = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) > 1 and not set(cells[0]) <= set(":-"):
            out[cells[0]] = cells[1:]
    return out


def add_stray_run(results: Path) -> None:
    """A FINISHED run named like a grid row, without merbench's identity tags (another tool)."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{results / 'mlflow.db'}")
    exp = client.get_experiment_by_name("merbench").experiment_id
    tags = {"merbench.name": "BME", "merbench.grid": "drkf-table4", "merbench.dataset": "synth",
            "merbench.split": "fold1", "merbench.seed": "0"}  # fmt: skip
    run = client.create_run(exp, tags=tags)
    client.log_metric(run.info.run_id, "test/ua", 0.0)
    client.set_terminated(run.info.run_id, "FINISHED")


@pytest.mark.slow
def test_run_then_ablate_fills_every_grid_row_and_rows_are_chosen_by_name(
    cli_env: dict[str, str], merbench, tmp_path: Path
) -> None:
    first = merbench(cli_env, "run", "--fusion", "self", "--ed", "on", "--split", "fold1", *TINY)
    assert first.returncode == 0, first.stderr
    assert "drkf [d=32, train.max_epochs=1]" in first.stdout  # the table names what differs
    grid = merbench(cli_env, "ablate", "--grid", "drkf-table4", "--split", "fold1", *TINY)
    assert grid.returncode == 0, grid.stderr
    assert "1 already finished, 5 to run" in grid.stdout
    add_stray_run(Path(cli_env["MERBENCH_RESULTS"]))

    table = merbench(cli_env, "table", "--grid", "drkf-table4", "--format", "md")
    assert table.returncode == 0, table.stderr
    rows = md_rows(table.stdout)
    for name in GRID_ROWS:  # every row filled, none from the stray run (its UA would be 0.0)
        assert re.fullmatch(r"\*?\*?\d+\.\d\*?\*?", rows[name][-1].split(" ")[0]), rows[name]
        assert not rows[name][-2].startswith("0.0")
    assert "No finished runs yet" not in table.stdout
    assert "note: 1 finished run without merbench's identity tags" in table.stderr
    balance = merbench(cli_env, "table", "--grid", "drkf-table4", "--balance", "--format", "md")
    assert balance.returncode == 0, balance.stderr
    assert "| synth | DRKF (BME + PCMI + FE_s + ED) | kld |" in balance.stdout

    # one more configuration, on two folds: every other row is incomplete next to it
    deeper = merbench(cli_env, "run", "--baseline", "drkf", "--set", "fusion.layers=2",
                      "--split", "fold1", "--split", "fold2", "--no-table", *TINY)  # fmt: skip
    assert deeper.returncode == 0, deeper.stderr
    everything = md_rows(merbench(cli_env, "table", "--format", "md").stdout)
    deep = "drkf [d=32, fusion.layers=2, train.max_epochs=1]"
    assert {deep, "drkf [d=32, train.max_epochs=1]", "BME [d=32, train.max_epochs=1]"} <= set(
        everything
    )
    assert everything[deep][0].startswith("**")  # the only complete row is the best
    complete = merbench(cli_env, "table", "--format", "md", "--complete-only")
    assert list(md_rows(complete.stdout))[1:] == [deep]
    chosen = merbench(cli_env, "table", "--format", "md", "--rows", "drkf*", "--exclude", deep)
    assert list(md_rows(chosen.stdout))[1:] == ["drkf [d=32, train.max_epochs=1]"]
    wrong = merbench(cli_env, "table", "--rows", "nothing*")
    assert wrong.returncode == 2 and "error: --rows 'nothing*' matches no row" in wrong.stderr

    plots = merbench(cli_env, "plot", "--no-tsne", "--rows", "drkf*", "--out", str(tmp_path / "p"))
    assert plots.returncode == 0, plots.stderr
    drawn = sorted(Path(p).name for p in plots.stdout.split())
    # the two chosen rows share one fold: too few units for a test, so no forest plot
    assert drawn == [
        "confusion_synth_drkf_d_32_fusion.layers_2_train.max_epochs_1.png",
        "confusion_synth_drkf_d_32_train.max_epochs_1.png",
    ]
    report = merbench(cli_env, "report", "--grid", "drkf-table4", "--no-tsne", "--exclude",
                      "BME + CMIE", "--out", str(tmp_path / "r"))  # fmt: skip
    assert report.returncode == 0, report.stderr
    page = (tmp_path / "r" / "drkf-table4.html").read_text()
    assert (
        '<td class="label">DRKF (BME + PCMI + FE_s + ED)</td>' in page and "BME + CMIE" not in page
    )

    # --name on a configuration whose runs all finished: nothing runs, the row takes the label
    named = merbench(cli_env, "run", "--fusion", "self", "--ed", "on", "--split", "fold1",
                     "--name", "shallow", "--no-table", *TINY)  # fmt: skip
    assert named.returncode == 0 and "1 already finished, 0 to run" in named.stdout
    labelled = md_rows(merbench(cli_env, "table", "--format", "md").stdout)
    assert "shallow" in labelled and "drkf [d=32, train.max_epochs=1]" not in labelled

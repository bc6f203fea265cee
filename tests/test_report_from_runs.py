"""Tables read each dataset's protocol from the runs: a corpus added as a plugin (a loader file and
a card, nothing else) gets its own columns, title, dev rule and note; `--dry-run` plans only."""

from __future__ import annotations

from pathlib import Path

QUICK = ["--set", "train.max_epochs=2", "--set", "train.patience=1"]


def test_plugin_corpus_table_follows_its_own_protocol(cli_env: dict, merbench) -> None:
    plugin = ["--plugin", "tinycorp", "--dataset", "tinycorp"]
    ran = merbench(cli_env, "run", *plugin, "--split", "fold1", "--split", "fold2", *QUICK,
                   "--no-table")  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert "2 runs (1 configuration(s) x 2 split-seed units) on tinycorp" in ran.stdout
    # the table command loads no plugin and opens no card: all of this comes from the runs
    out = merbench(cli_env, "table", "--dataset", "tinycorp", "--format", "md")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "**Model comparison on TinyCorp**" in lines
    assert "| Model | TinyCorp TF1 | TinyCorp WACC | TinyCorp Avg |" in lines
    caption = out.stdout.split("|\n\n", 1)[1]
    assert (
        "TinyCorp: 2 folds (leave one session out) × 1 seed (0); dev = TinyCorp's next session;"
        in caption
    )
    assert "TF1 = Macro-F1 = unweighted mean of per-class F1" in caption
    assert "TinyCorp: a corpus of the test plugin." in caption


def test_dry_run_prints_the_plan_and_changes_nothing(
    cli_env: dict, merbench, tmp_path: Path
) -> None:
    cli_env = {**cli_env, "MERBENCH_CACHE": str(tmp_path / "cache")}
    out = merbench(cli_env, "ablate", "--grid", "drkf-table4", "--dry-run",
                   "--dataset-option", "utterances_per_session=16", "--split", "fold1", "--device", "cpu")  # fmt: skip
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[-1] == (
        "6 runs (6 configuration(s) x 1 split-seed units) on synth, device cpu: "
        "0 already finished, 6 to run"
    )
    planned = [line.split() for line in lines[:-1]]
    assert [p[0] for p in planned] == ["todo"] * 6
    assert [" ".join(p[1:-5]) for p in planned][:2] == ["BME", "BME + CMIE"]
    assert all(p[-5:-1] == ["synth", "fold1", "seed", "0"] for p in planned)
    assert not (Path(cli_env["MERBENCH_CACHE"]) / "features").exists()  # nothing extracted
    assert "training" not in out.stdout

"""Tables read each dataset's protocol from the runs: a corpus added as a plugin (a loader file and
a card, nothing else) gets its own columns, title, dev rule and note; `--dry-run` plans only."""

from __future__ import annotations

from pathlib import Path

QUICK = ["--set", "train.max_epochs=2", "--set", "train.patience=1"]
TINY = ["--dataset-option", "utterances_per_session=8"]


def test_plugin_corpus_table_follows_its_own_protocol(warm_cli_env: dict, merbench) -> None:
    cli_env = warm_cli_env  # the embedded corpus under the plugin is stored already
    plugin = ["--plugin", "tinycorp", "--dataset", "tinycorp", *TINY]
    ran = merbench(cli_env, "run", *plugin, "--split", "fold1", "--split", "fold2", *QUICK,
                   "--no-table")  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert "2 runs (1 configuration(s) x 2 split-seed units) on tinycorp" in ran.stdout
    # the table command loads no plugin and opens no card: all of this comes from the runs
    out = merbench(cli_env, "table", "--dataset", "tinycorp", "--format", "md")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "**Model comparison on TinyCorp**" in lines
    assert "| Model | TF1 | WACC | Avg |" in lines  # one dataset: named in the title only
    caption = out.stdout.split("|\n\n", 1)[1]
    assert (
        "TinyCorp: 2 of 5 folds (leave one session out) × 1 seed (0); dev = TinyCorp's next session;"
        in caption
    )
    assert "TF1 = Macro-F1 = unweighted mean of per-class F1" in caption
    assert "TinyCorp: a corpus of the test plugin." in caption
    # a fresh store: MLflow's and Alembic's INFO lines stay out of the user's output
    assert "INFO" not in ran.stdout + ran.stderr + out.stdout + out.stderr


def test_table_as_pdf_and_png_and_missing_tools(cli_env: dict, merbench, tmp_path: Path) -> None:
    plugin = ["--plugin", "tinycorp", "--dataset", "tinycorp", *TINY]
    ran = merbench(cli_env, "run", *plugin, "--split", "fold1", "--split", "fold2", *QUICK,
                   "--no-table")  # fmt: skip
    assert ran.returncode == 0, ran.stderr  # finished before (same module store): skipped
    for fmt, magic in (("pdf", b"%PDF"), ("png", b"\x89PNG")):
        out = merbench(cli_env, "table", "--dataset", "tinycorp", "--format", fmt,
                       "--out", str(tmp_path / f"t.{fmt}"))  # fmt: skip
        assert out.returncode == 0, out.stderr
        assert (tmp_path / f"t.{fmt}").read_bytes().startswith(magic)
    no_tex = {**cli_env, "PATH": str(tmp_path / "empty")}
    out = merbench(no_tex, "table", "--dataset", "tinycorp", "--format", "pdf", "--out",
                   str(tmp_path / "x.pdf"))  # fmt: skip
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.strip().splitlines() == [
        "error: pdflatex not found: install TeX Live and poppler (Debian: apt-get install "
        "texlive-latex-base texlive-latex-recommended poppler-utils)"
    ]


def test_fresh_store_logs_nothing_unless_verbose(cli_env: dict, merbench, tmp_path: Path) -> None:
    quiet = merbench(cli_env, "table", "--tracking-uri", f"sqlite:///{tmp_path}/a.db")
    assert quiet.returncode == 2 and "no finished runs" in quiet.stderr
    assert "INFO" not in quiet.stdout + quiet.stderr
    loud = merbench(cli_env, "--verbose", "table", "--tracking-uri", f"sqlite:///{tmp_path}/b.db")
    assert "INFO mlflow.store.db.utils: Creating initial MLflow database tables..." in loud.stderr


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

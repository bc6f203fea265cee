"""The command line as a user meets it: the real `merbench` entry point in a subprocess.

A small embedded corpus (8 utterances per session, 40 in all), stored with its features once
per test session (`synth_cache`), keeps the end-to-end runs short.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SMALL = ["--dataset-option", "utterances_per_session=8"]
QUICK = ["--set", "train.max_epochs=3", "--set", "train.patience=2"]


def test_importing_the_cli_imports_neither_torch_nor_mlflow() -> None:
    code = (
        "import sys, merbench.cli; "
        "print(sorted(m for m in ('torch', 'mlflow', 'transformers', 'opensmile') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--fusion", "nope"], "unknown fusions plugin 'nope'; valid: "),
        (
            ["run", "--set", "fusion.depth=2"],
            "fusions/concat: unknown option depth; valid: dropout",
        ),
        (["run", "--set", "train.lr=fast"], "train.lr: cannot read 'fast' as float"),
        (["run", "--ed", "maybe"], "--ed maybe: expected on or off"),
        (["run", "--seeds", "x"], "--seeds 'x': expected a count (3) or a list (0,1,2)"),
        (["run", "--dataset", "nope"], "unknown datasets plugin 'nope'"),
        (["run", "--baseline", "nope"], "unknown recipe 'nope'; valid: "),
        (["run", "--data-root", "/no/such/folder"], "--data-root /no/such/folder: no such folder"),
        (["run", "--plugin", "no_such_module"], "--plugin no_such_module: cannot import it"),
        (["list", "gizmos"], "unknown plugin kind 'gizmos'; valid: datasets"),
        (["run", "--precision", "fp64"], "--precision fp64: expected auto, fp32, bf16, fp16"),
        (["run", "--variant", "draft"], "--variant draft: expected paper or code"),
        (["plot", "--kind", "bars"], "--kind bars: expected figures, cd, all"),
        (
            ["run", "--precision", "fp16", "--device", "cpu"],
            "--precision fp16: fp16 autocast needs a CUDA GPU",
        ),
    ],
)
def test_user_errors_are_one_line_and_exit_2(
    cli_env: dict[str, str], merbench, args: list[str], message: str
) -> None:
    result = merbench(cli_env, *args)
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and message in lines[0]
    assert "Traceback" not in result.stderr


def test_list_shows_every_axis_with_sources(cli_env: dict[str, str], merbench) -> None:
    result = merbench(cli_env, "list", "fusions")
    assert result.returncode == 0, result.stderr
    for name in ("self", "cross", "concat"):
        assert name in result.stdout
    assert "merbench.models.fusions" in result.stdout


@pytest.fixture(scope="module")
def installed_plugin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example plugin package, really pip-installed into a folder put on PYTHONPATH."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(ROOT / "examples" / "merbench-plugin-example"),
        ],
        check=True,
        capture_output=True,
    )
    assert list(target.glob("merbench_plugin_example-*.dist-info/entry_points.txt"))
    return target


def test_entry_point_plugin_is_listed_and_runs(
    warm_cli_env: dict[str, str], merbench, installed_plugin: Path
) -> None:
    path = os.pathsep.join([str(installed_plugin), warm_cli_env["PYTHONPATH"]])
    env = {**warm_cli_env, "PYTHONPATH": path}
    listed = merbench(env, "list", "fusions", "--filter", "gat*")
    assert listed.returncode == 0, listed.stderr
    assert "gated" in listed.stdout and "merbench_plugin_example.fusion" in listed.stdout
    ran = merbench(env, "run", "--fusion", "gated", *SMALL, "--split", "fold1", *QUICK)
    assert ran.returncode == 0, ran.stderr
    assert "1 runs" in ran.stdout and "drkf fold1 seed 0" in ran.stdout
    notes = [line for line in ran.stderr.splitlines() if "the recipe is drkf" in line]
    assert notes == [
        "note: --fusion without --baseline: the recipe is drkf, not the default concat "
        "(--baseline NAME chooses another)"
    ]


@pytest.mark.slow
def test_run_every_fold_then_rerun_skips_finished(warm_cli_env: dict[str, str], merbench) -> None:
    first = merbench(warm_cli_env, "run", *SMALL, *QUICK)
    assert first.returncode == 0, first.stderr
    assert "5 runs" in first.stdout and "0 already finished, 5 to run" in first.stdout
    for fold in range(1, 6):
        assert f"concat fold{fold} seed 0" in first.stdout
    assert "concat" in first.stdout.split("5/5 done")[-1]  # the table after the last run
    # each run's config.json is the text its run key hashes, and reads back as a resolved config
    from merbench.experiment import tracking
    from merbench.experiment.resolved import ResolvedConfig

    results = Path(warm_cli_env["MERBENCH_RESULTS"])
    keys = set(tracking.run_states(f"sqlite:///{results / 'mlflow.db'}"))
    texts = [p.read_bytes() for p in results.rglob("config.json")]
    assert len(texts) == len(keys) >= 5  # earlier tests of this module ran in the same store
    assert {hashlib.sha256(t).hexdigest() for t in texts} == keys
    identities = [json.loads(t) for t in texts]
    concat = [i for i in identities if i["config"]["components"]["fusion"]["name"] == "concat"]
    assert sorted(i["split"] for i in concat) == [f"fold{k}" for k in range(1, 6)]
    config = ResolvedConfig.from_dict(concat[0]["config"])
    assert config.to_json() == json.dumps(
        concat[0]["config"], sort_keys=True, separators=(",", ":")
    )
    second = merbench(warm_cli_env, "run", *SMALL, *QUICK)
    assert second.returncode == 0, second.stderr
    assert "5 already finished, 0 to run" in second.stdout

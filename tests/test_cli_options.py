"""The options as declared: fixed sets are choices `--help` lists, `run` and `ablate` share one
declaration of their common options, and `sweep_options` maps them into one `SweepOptions`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import get_args

import pytest
import typer

from merbench.cli import app
from merbench.cli.app import VariantName
from merbench.cli.report import GroupBy, SliceName
from merbench.cli.sweep import sweep_options


def _params(command: str) -> dict[str, typer.core.TyperOption]:
    group = typer.main.get_command(app)
    ctx = typer.Context(group)
    cmd = group.get_command(ctx, command)  # type: ignore[attr-defined]
    return {p.name: p for p in cmd.params}


def test_run_and_ablate_share_the_same_options() -> None:
    run, ablate = _params("run"), _params("ablate")
    shared = set(ablate) - {"grid"}
    assert set(run) - shared == {"recipe", "augmentation", "fusion", "ed"}
    assert len(shared) == 21  # test_on and perturb among them
    for name in shared:
        a, b = run[name], ablate[name]
        assert (a.opts, a.default, a.help, a.metavar) == (b.opts, b.default, b.help, b.metavar)


@pytest.mark.parametrize(
    ("command", "shown"),
    [
        ("run", ["<on|off>", "<paper|code>", "<auto|fp32|bf16|fp16>"]),
        ("ablate", ["<paper|code>", "<auto|fp32|bf16|fp16>"]),
        (
            "table",
            [
                "<terminal|md|latex|csv|pdf|png>",
                "<inconsistent|consistent>",
                "<class|speaker|gender|length>",
            ],
        ),
        ("plot", ["<figures|cd|all>"]),
    ],
)
def test_help_lists_the_choices(command: str, shown: list[str]) -> None:
    env = {**os.environ, "COLUMNS": "220"}
    code = f"import sys; sys.argv = ['merbench', '{command}', '--help']; from merbench.cli import main; main()"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    for choices in shown:
        assert choices in out.stdout


def test_the_choices_are_the_lists_the_library_checks() -> None:
    from merbench.data.slices import SLICES
    from merbench.experiment.recipes import VARIANTS
    from merbench.report.groups import GROUPINGS

    assert get_args(VariantName) == tuple(v for v in VARIANTS if v)
    assert get_args(SliceName) == tuple(SLICES)
    assert get_args(GroupBy) == GROUPINGS


def test_sweep_options_maps_every_option(tmp_path: Path) -> None:
    options = sweep_options(
        recipe="drkf", grid=None, overrides={"fusion.name": "self"}, name="  mine ",
        variant="code", finetune=True, dataset="manifest", data_root=tmp_path,
        dataset_option=["classes=4", "text = asr"], seeds="0,4", split=["fold2"], device="cpu",
        precision="fp32", executor="local", executor_option=["x=1"], jobs=2,
        tracking_uri="sqlite:///t.db", cache_dir=Path("~/c"), plugin=["mod"],
    )  # fmt: skip
    assert options.recipe == "drkf" and options.grid is None
    assert options.overrides == (("fusion.name", "self"), ("train.precision", "fp32"))
    assert options.variant == "code" and options.finetune and options.label == "mine"
    (ref,) = options.datasets
    assert (ref.name, ref.root, ref.options) == (
        "manifest", str(tmp_path), (("classes", "4"), ("text", "asr"))
    )  # fmt: skip
    assert options.seeds == (0, 4) and options.splits == ("fold2",)
    assert (options.device, options.executor, options.jobs) == ("cpu", "local", 2)
    assert options.executor_options == (("x", "1"),)
    assert options.tracking_uri == "sqlite:///t.db"
    assert options.cache_dir == str(Path("~/c").expanduser())
    assert options.plugins == ("mod",)

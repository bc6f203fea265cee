"""The installed wheel works outside the repository: recipes, grids, reported numbers and dataset
cards ship as package data, and results go to ``./results`` of the working folder.

How the fresh environment is made, and why: the wheel is built from a copy of the sources (so the
checkout gets no ``build/`` or ``egg-info``), then installed with ``--no-deps --no-index`` into a
new virtual environment created *without* pip and *without* ``--system-site-packages``. Its
dependencies (torch, MLflow, opensmile, the packaged models: gigabytes) come from the shared
environment that runs this test, through one ``.pth`` line naming that environment's
site-packages. ``--system-site-packages`` would not do: from inside a venv it exposes the *base*
interpreter's site-packages, where none of the dependencies are. A plain path line in a ``.pth``
adds the folder to ``sys.path`` *after* the new environment's own site-packages and does not run
the ``.pth`` files in it, so the shared environment's editable install of merbench (a path hook
pointing at a checkout) stays inert and ``import merbench`` finds the installed wheel. Nothing is
downloaded.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: Folders of tool state that tests running at the same time (pytest-xdist) may create in the
#: checkout: Hypothesis's example database, pytest's cache. Nothing the wheel build makes.
TOOL_STATE = {".hypothesis", ".pytest_cache"}


def checkout() -> list[str]:
    """The names at the top of the checkout, tool state left out."""
    return sorted(p.name for p in ROOT.iterdir() if p.name not in TOOL_STATE)


def run(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, timeout=900, **kw)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The merbench wheel, built from a copy of the sources."""
    before = checkout()
    src = tmp_path_factory.mktemp("src")
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("merbench", "registry", "datasets"):
        shutil.copytree(ROOT / name, src / name, ignore=skip)
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    dist = tmp_path_factory.mktemp("dist")
    built = run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                "--no-index", "-w", str(dist), str(src))  # fmt: skip
    assert built.returncode == 0, built.stderr
    (path,) = dist.glob("merbench-*.whl")
    assert checkout() == before  # nothing built in the checkout
    return path


def test_the_wheel_holds_every_module_and_the_whole_catalogue(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "merbench").rglob("*.py")}
    assert modules - names == set()
    for folder, packaged in (("registry", "merbench/_catalogue/registry"),
                             ("datasets", "merbench/_catalogue/datasets")):  # fmt: skip
        tomls = {p.relative_to(ROOT / folder).as_posix() for p in (ROOT / folder).rglob("*.toml")}
        assert tomls and {f"{packaged}/{t}" for t in tomls} <= names


def test_the_wheel_states_its_licence_and_the_one_version(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        info = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = archive.read(info[0]).decode()
        licence_files = [n for n in archive.namelist() if n.endswith("licenses/LICENSE")]
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert f"Version: {version}\n" in metadata and wheel.name.startswith(f"merbench-{version}-")
    assert "License-Expression: MIT\n" in metadata and len(licence_files) == 1


@pytest.mark.slow
def test_installed_wheel_lists_and_runs_the_demo_outside_the_repository(
    wheel: Path, tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    made = run(sys.executable, "-m", "venv", "--without-pip", str(venv))
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    installed = run(sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                    "--no-deps", "--no-index", str(wheel))  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    own = Path(run(str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])")
               .stdout.strip())  # fmt: skip
    (own / "shared-environment.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MLFLOW_TRACKING_URI",
                                                            "MERBENCH_RESULTS")}  # fmt: skip
    env.update(MERBENCH_CACHE=str(tmp_path / "cache"), HF_HUB_OFFLINE="1",
               MLFLOW_DISABLE_TELEMETRY="true")  # fmt: skip
    where = run(str(python), "-c", "import merbench.paths as p; print(p.__file__, p.catalogue_root())",
                env=env, cwd=elsewhere)  # fmt: skip
    module, catalogue = where.stdout.split()
    assert module.startswith(str(own)) and catalogue == str(own / "merbench" / "_catalogue")

    merbench = str(venv / "bin" / "merbench")
    listed = run(merbench, "list", env={**env, "COLUMNS": "200"}, cwd=elsewhere)  # no cell wraps
    assert listed.returncode == 0, listed.stderr
    shipped = {kind: ", ".join(sorted(p.stem for p in (ROOT / "registry" / folder).glob("*.toml")))
               for kind, folder in (("recipes", "baselines"), ("grids", "grids"))}  # fmt: skip
    words = " ".join(listed.stdout.split())  # the terminal may wrap a long line
    assert f"recipes: {shipped['recipes']} grids: {shipped['grids']}" in words  # all packaged
    assert "ravdess" in listed.stdout and "merbench.data.emodb" in listed.stdout

    demo = run(merbench, "run", "--dataset-option", "utterances_per_session=8", "--split",
               "fold1", "--set", "train.max_epochs=2", env=env, cwd=elsewhere)  # fmt: skip
    assert demo.returncode == 0, demo.stderr
    assert "concat fold1 seed 0: ua " in demo.stdout
    caption = " ".join(demo.stdout.split())  # the terminal wraps the caption at its width
    assert "wrapping (dev session = (test session mod 5) + 1)" in caption  # the packaged card
    assert (elsewhere / "results" / "mlflow.db").is_file()

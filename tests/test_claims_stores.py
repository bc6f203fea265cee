"""Run-key claims belong to one tracking store: two stores in one folder never see each other's
claims; a run held by a live claim is `running` in the dry run (host, pid, since); a sweep that
skipped a run because another process held it says so and fails while its store lacks the run."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from guarantee_helpers import write_manifest

from merbench.experiment import claims


def test_two_stores_in_one_folder_have_separate_claims(tmp_path: Path) -> None:
    uri_a, uri_b = (f"sqlite:///{tmp_path / name}" for name in ("a.db", "b.db"))
    assert claims.claims_folder(uri_a) == tmp_path / "a.db.claims"
    assert claims.claims_folder(uri_b) == tmp_path / "b.db.claims"
    claim = claims.Claim(uri_a, "key1")
    assert claim.acquire() is None
    try:
        held = claims.holder(uri_a, "key1")
        assert held["pid"] == os.getpid() and held["host"] == socket.gethostname()
        assert held["since"] == claim.since <= held["heartbeat"]
        assert claims.holder(uri_b, "key1") is None  # the other store's claims are not ours
    finally:
        claim.release()


def finished(db: Path) -> int:
    with sqlite3.connect(db) as con:
        return con.execute("SELECT count(*) FROM runs WHERE status = 'FINISHED'").fetchone()[0]


@pytest.fixture
def held_run(tmp_path: Path, cli_env: dict[str, str]):
    """A one-run sweep on a fold manifest (store ``a.db``) whose run key this test process claims:
    (command line without the store, env, the store URI, the task, the claim)."""
    from merbench.experiment.plan import DatasetRef
    from merbench.experiment.sweep import SweepOptions, plan_sweep

    manifest = write_manifest(tmp_path / "manifest")
    env = {**cli_env, "MERBENCH_CACHE": str(tmp_path / "cache")}
    uri = f"sqlite:///{tmp_path / 'a.db'}"
    args = ["run", "--dataset", "manifest", "--data-root", str(manifest), "--split", "fold1",
            "--set", "train.max_epochs=2", "--no-table"]  # fmt: skip
    ref = DatasetRef("manifest", str(manifest))
    options = SweepOptions(datasets=(ref,), splits=("fold1",), tracking_uri=uri,
                           cache_dir=env["MERBENCH_CACHE"],
                           overrides=(("train.max_epochs", "2"),))  # fmt: skip
    (task,) = plan_sweep(options).tasks
    claim = claims.Claim(uri, task.run_key)
    assert claim.acquire() is None
    yield args, env, uri, task, claim
    claim.release()


def test_dry_run_names_a_held_run_running_and_the_sweep_fails_without_it(
    held_run, merbench
) -> None:
    args, env, uri, task, claim = held_run
    dry = merbench(env, *args, "--tracking-uri", uri, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    (line,) = [x for x in dry.stdout.splitlines() if task.run_key[:12] in x]
    assert line.startswith("running ")
    assert f"(host {socket.gethostname()}, pid {os.getpid()}, since 20" in line
    assert "1 to run (1 running in another process)" in dry.stdout

    sweep = subprocess.Popen([str(Path(sys.executable).with_name("merbench")), *args,
                              "--tracking-uri", uri], env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        seen = []
        while not any("waiting for 1 runs another process is training" in x for x in seen):
            seen.append(sweep.stderr.readline())  # the sweep skipped the run and waits for it
            assert seen[-1], "".join(seen)
        assert f"(first: host {socket.gethostname()}, pid {os.getpid()}, since 20" in seen[-1]
        claim.release()  # the holder lets the run go without finishing it
        err = "".join(seen) + sweep.stderr.read()
        assert sweep.wait(timeout=300) == 2, err
    finally:
        if sweep.poll() is None:
            sweep.kill()
    lines = [x for x in err.splitlines() if x.strip() and not x.startswith("note:")]
    assert "Traceback" not in err and len(lines) == 1, err
    assert lines[0].startswith("error: 1 runs were skipped because another process held them, "
                               "and it did not finish them in this store")  # fmt: skip
    assert f"pid {os.getpid()}" in lines[0]
    assert finished(Path(uri.removeprefix("sqlite:///"))) == 0


def test_a_claim_on_one_store_does_not_hold_a_sweep_into_another(held_run, merbench) -> None:
    args, env, uri, _, _ = held_run
    other = Path(uri.removeprefix("sqlite:///")).with_name("b.db")
    done = merbench(env, *args, "--tracking-uri", f"sqlite:///{other}")
    assert done.returncode == 0, done.stderr
    assert finished(other) == 1

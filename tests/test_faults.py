"""Fault tests, with real signals: a sweep killed with SIGKILL during feature
extraction, during training and during MLflow logging, then rerun, ends with exactly one FINISHED
run per key and the same CSV table as an uninterrupted sweep; two sweeps started at once on the
same keys train each key once.

The sweep is the smallest real one: the embedded corpus at 8 utterances per session, recipe
`concat`, 2 epochs, folds 1 and 2. The kills are timed by watching the sweep's own files (the
feature store's temporary entry, the MLflow store's rows), not by hooks in the code.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SWEEP = ["run", "--dataset-option", "utterances_per_session=8", "--set", "train.max_epochs=2",
         "--set", "train.patience=2", "--split", "fold1", "--split", "fold2", "--no-table"]  # fmt: skip
KEYS = 2

pytestmark = pytest.mark.slow


def environment(tmp: Path, cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env.update(MERBENCH_CACHE=str(cache), MERBENCH_RESULTS=str(tmp / "results"),
               HF_HUB_OFFLINE="1", MLFLOW_DISABLE_TELEMETRY="true", HOME=str(tmp))  # fmt: skip
    return env


def merbench(env: dict[str, str], *args: str) -> subprocess.Popen:
    exe = Path(sys.executable).with_name("merbench")
    return subprocess.Popen([str(exe), *args], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip


def finish(proc: subprocess.Popen) -> subprocess.CompletedProcess:
    out, err = proc.communicate(timeout=900)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def sweep(env: dict[str, str], *extra: str) -> subprocess.CompletedProcess:
    result = finish(merbench(env, *SWEEP, *extra))
    assert result.returncode == 0, result.stderr
    return result


def query(db: Path, sql: str) -> list[tuple]:
    if not db.exists():
        return []
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as con:
            return con.execute(sql).fetchall()
    except sqlite3.Error:  # schema not created yet, or busy
        return []


def kill_when(proc: subprocess.Popen, moment: Callable[[], bool], what: str) -> None:
    """SIGKILL `proc` as soon as `moment()` holds (polled every few milliseconds)."""
    deadline = time.time() + 900
    while not moment():
        if proc.poll() is not None:
            pytest.fail(f"the sweep ended before {what}: {proc.stderr.read()[-2000:]}")
        if time.time() > deadline:
            proc.kill()
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.003)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL


def db_of(env: dict[str, str]) -> Path:
    return Path(env["MERBENCH_RESULTS"]) / "mlflow.db"


def finished_per_key(db: Path) -> dict[str, int]:
    rows = query(db, "SELECT t.value, count(*) FROM runs r JOIN tags t ON t.run_uuid = r.run_uuid "
                     "AND t.key = 'merbench.run_key' WHERE r.status = 'FINISHED' GROUP BY t.value")  # fmt: skip
    return dict(rows)


def table(env: dict[str, str]) -> str:
    exe = Path(sys.executable).with_name("merbench")
    out = subprocess.run([str(exe), "table", "--dataset", "synth", "--format", "csv"], env=env,
                         cwd=ROOT, capture_output=True, text=True, timeout=600)  # fmt: skip
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, synth_cache: Path) -> dict:
    """An uninterrupted sweep: its cache (features reused by later tests) and its CSV table."""
    tmp = tmp_path_factory.mktemp("reference")
    shutil.copytree(synth_cache, tmp / "cache")  # the corpus and its features, stored
    env = environment(tmp, tmp / "cache")
    sweep(env)
    assert list(finished_per_key(db_of(env)).values()) == [1] * KEYS
    return {"cache": tmp / "cache", "table": table(env)}


def check_recovered(env: dict[str, str], reference: dict) -> None:
    rerun = sweep(env)
    assert "to run" in rerun.stdout
    assert list(finished_per_key(db_of(env)).values()) == [1] * KEYS
    assert table(env) == reference["table"]


def test_kill_during_feature_extraction_then_rerun(reference: dict, tmp_path: Path) -> None:
    env = environment(tmp_path, tmp_path / "cache")  # a fresh cache: features must be extracted
    features = tmp_path / "cache" / "features"
    proc = merbench(env, *SWEEP)
    kill_when(proc, lambda: features.is_dir() and any(features.glob(".tmp-*")),
              "feature extraction started")  # fmt: skip
    assert not [p for p in features.iterdir() if (p / "meta.json").is_file()]  # nothing complete
    check_recovered(env, reference)


def test_kill_during_training_then_rerun(reference: dict, tmp_path: Path) -> None:
    env = environment(tmp_path, reference["cache"])
    db = db_of(env)
    proc = merbench(env, *SWEEP)
    kill_when(proc, lambda: bool(query(db, "SELECT 1 FROM runs WHERE status = 'RUNNING'")),
              "a run started training")  # fmt: skip
    assert query(db, "SELECT status FROM runs") == [("RUNNING",)]  # left behind by the kill
    check_recovered(env, reference)
    assert ("FAILED",) in query(db, "SELECT status FROM runs")  # the interrupted run, marked


def test_kill_during_mlflow_logging_then_rerun(reference: dict, tmp_path: Path) -> None:
    env = environment(tmp_path, reference["cache"])
    db = db_of(env)
    logging = ("SELECT 1 FROM runs r JOIN metrics m ON m.run_uuid = r.run_uuid "
               "WHERE r.status = 'RUNNING' AND m.key = 'test/ua'")  # fmt: skip
    proc = merbench(env, *SWEEP)
    kill_when(proc, lambda: bool(query(db, logging)), "a run logging its results")
    assert query(db, logging)  # metrics logged, artifacts not: the run was cut while logging
    check_recovered(env, reference)


def test_two_sweeps_started_at_once_train_each_key_once(reference: dict, tmp_path: Path) -> None:
    env = environment(tmp_path, reference["cache"])
    first, second = merbench(env, *SWEEP), merbench(env, *SWEEP)
    results = [finish(first), finish(second)]
    assert [r.returncode for r in results] == [0, 0], [r.stderr for r in results]
    assert list(finished_per_key(db_of(env)).values()) == [1] * KEYS
    assert query(db_of(env), "SELECT count(*) FROM runs WHERE status != 'FINISHED'") == [(0,)]
    assert table(env) == reference["table"]

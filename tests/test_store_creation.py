"""A new SQLite tracking store is whole or absent at every moment of its creation: killed at ten
points while it is created, the path holds no store or a complete one, and a rerun records one
FINISHED run per key; a store left half-built by in-place creation (holding no run) is rebuilt."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from guarantee_helpers import write_manifest

KILL_DURING_CREATION = """
import json, os, shutil, signal, sys, time
from pathlib import Path
import mlflow  # imported once, before the clock starts
from merbench.experiment import tracking

folder, points = Path(sys.argv[1]), int(sys.argv[2])
(folder / "scratch").mkdir()

def create(db):
    pid = os.fork()
    if pid == 0:
        tracking.client(f"sqlite:///{db}")
        os._exit(0)
    return pid

start = time.monotonic()
os.waitpid(create(folder / "scratch" / "m.db"), 0)
duration = time.monotonic() - start
states = []
for i in range(points):
    pid = create(folder / "m.db")
    time.sleep(duration * (i + 0.5) / points)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    db = folder / "m.db"
    if db.exists():
        shutil.copy(db, folder / f"snapshot-{i}.db")
        db.unlink()  # the next point creates the store anew (leftovers of killed creators stay)
    states.append(db.exists() or (folder / f"snapshot-{i}.db").exists())
print(json.dumps({"duration": duration, "stored": states}))
"""


def schema_state(db: Path) -> tuple[str | None, list[str]]:
    """(alembic revision, experiment names) of the store file `db`; (None, []) for a schema that
    lacks either table, None for a revision never recorded."""
    with sqlite3.connect(db) as con:
        try:
            row = con.execute("SELECT version_num FROM alembic_version").fetchone()
            names = [r[0] for r in con.execute("SELECT name FROM experiments ORDER BY name")]
        except sqlite3.OperationalError:
            return None, []
    return (row[0] if row else None), names


def finished_keys(db: Path) -> list[str]:
    with sqlite3.connect(db) as con:
        rows = con.execute(
            "SELECT t.value FROM runs r JOIN tags t ON t.run_uuid = r.run_uuid "
            "WHERE r.status = 'FINISHED' AND t.key = 'merbench.run_key'"
        ).fetchall()
    return [r[0] for r in rows]


def test_a_store_killed_at_ten_points_of_its_creation_is_absent_or_whole(
    tmp_path: Path, cli_env: dict[str, str], merbench
) -> None:
    from mlflow.store.db.utils import _get_latest_schema_revision

    out = subprocess.run(
        [sys.executable, "-c", KILL_DURING_CREATION, str(tmp_path), "10"],
        capture_output=True, text=True, timeout=600, env=cli_env,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.splitlines()[-1])
    assert result["duration"] > 0 and len(result["stored"]) == 10
    head = _get_latest_schema_revision()
    for snapshot in sorted(tmp_path.glob("snapshot-*.db")):  # what a kill left at the path
        assert schema_state(snapshot) == (head, ["Default", "merbench"]), snapshot.name
    assert not (tmp_path / "m.db").exists()

    manifest = write_manifest(tmp_path / "manifest")
    args = ["run", "--dataset", "manifest", "--data-root", str(manifest), "--split", "fold1",
            "--set", "train.max_epochs=2", "--no-table",
            "--tracking-uri", f"sqlite:///{tmp_path / 'm.db'}"]  # fmt: skip
    done = merbench(cli_env, *args)
    assert done.returncode == 0, done.stderr
    keys = finished_keys(tmp_path / "m.db")
    assert len(keys) == 1 == len(set(keys))
    assert not list(tmp_path.glob(".m.db.creating-*"))  # the killed creators' files are gone


def test_a_half_built_store_holding_no_run_is_rebuilt_with_a_note(tmp_path: Path, caplog) -> None:
    from mlflow.store.db.utils import _get_latest_schema_revision

    from merbench.experiment import sqlite_store, tracking

    db = tmp_path / "m.db"
    uri = f"sqlite:///{db}"
    sqlite_store.ensure_created(uri, "merbench", None)
    with sqlite3.connect(db) as con:  # as MLflow's in-place creation leaves it when killed:
        con.execute("DELETE FROM alembic_version")  # migrations applied but not recorded
        con.execute("DROP TABLE span_metrics")  # and a later table not created yet
    with caplog.at_level("WARNING", logger="merbench.tracking"):
        tracking.experiment_id(uri)
    assert f"tracking store {db} was left half-built ((sqlite3.OperationalError) duplicate " in (
        caplog.text
    )
    assert "holds no run: building it again" in caplog.text
    assert schema_state(db) == (_get_latest_schema_revision(), ["Default", "merbench"])


def test_a_store_that_fails_to_open_but_holds_runs_is_left_alone(tmp_path: Path) -> None:
    from merbench.experiment import sqlite_store, tracking

    db = tmp_path / "m.db"
    uri = f"sqlite:///{db}"
    with tracking.TrackedRun(uri, "concat", {tracking.TAG + "run_key": "k"}):
        pass
    assert not sqlite_store.holds_no_run(db)
    assert not sqlite_store.rebuild_if_half_built(uri, RuntimeError("out-of-date schema"))
    assert finished_keys(db) == ["k"]  # the run is still there

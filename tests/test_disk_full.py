"""A full disk, met for real: a small tmpfs mounted for the test (root only; skipped otherwise) and
filled to its last byte. Wherever it fills (feature store, transcripts, tracking store, a table)
the command ends with one ``error:`` line naming the path and what was being written, exit 2,
and nothing half-written is left looking finished; after space is freed, the rerun works."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest
from guarantee_helpers import fill, mounted_tmpfs, write_manifest

from merbench.files import DiskFull


@pytest.fixture
def disk(tmp_path: Path):
    """An empty 4 MB tmpfs at ``tmp_path/disk`` (unmounted afterwards)."""
    with mounted_tmpfs(tmp_path / "disk") as mount:
        yield mount


def one_error(done: subprocess.CompletedProcess) -> str:
    lines = [x for x in done.stderr.splitlines() if x.strip() and not x.startswith("note:")]
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    assert done.returncode == 2, done.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    return lines[0]


def finished(db: Path) -> int:
    with sqlite3.connect(db) as con:
        return con.execute("SELECT count(*) FROM runs WHERE status = 'FINISHED'").fetchone()[0]


def test_feature_store_on_a_full_disk(disk: Path, tmp_path: Path, cli_env, merbench) -> None:
    manifest = write_manifest(tmp_path / "manifest")
    args = ["features", "--dataset", "manifest", "--data-root", str(manifest),
            "--audio-encoder", "egemaps", "--cache-dir", str(disk / "cache")]  # fmt: skip
    (disk / "cache" / "features").mkdir(parents=True)
    filler = fill(disk)
    line = one_error(merbench(cli_env, *args))
    assert line.startswith(
        f"error: {disk / 'cache' / 'features'}: no space left on the device "
        "while writing the features of manifest by egemaps (nothing of them kept)"
    )
    assert not [p for p in (disk / "cache" / "features").iterdir() if not p.name.endswith(".lock")]
    filler.unlink()
    assert merbench(cli_env, *args).returncode == 0
    assert len(list((disk / "cache" / "features").glob("*/meta.json"))) == 1


def test_tracking_store_on_a_full_disk_then_space_freed(
    disk: Path, tmp_path: Path, cli_env, merbench
) -> None:
    from merbench.experiment import tracking

    db = disk / "mlflow.db"
    uri = f"sqlite:///{db}"
    tracking.client(uri)  # the store exists; then its disk fills
    manifest = write_manifest(tmp_path / "manifest")
    env = {**cli_env, "MERBENCH_CACHE": str(tmp_path / "cache")}
    args = ["run", "--dataset", "manifest", "--data-root", str(manifest), "--split", "fold1",
            "--set", "train.max_epochs=2", "--no-table", "--tracking-uri", uri]  # fmt: skip
    filler = fill(disk)
    line = one_error(merbench(env, *args))
    assert line == (f"error: 1 of 1 runs failed (first: {disk}/mlflow.db.claims: no space left on "
                    "the device while writing a run's claim; free some space and run the command "
                    "again)")  # fmt: skip
    with open(filler, "r+b") as f:  # room for the claim (two pages), not for the run
        f.truncate(filler.stat().st_size - 8192)
    line = one_error(merbench(env, *args))
    assert line == (f"error: 1 of 1 runs failed (first: {db}: no space left on the device while "
                    "writing run concat to the tracking store (not recorded as finished); free "
                    "some space and run the command again)")  # fmt: skip
    assert finished(db) == 0
    filler.unlink()
    assert merbench(env, *args).returncode == 0
    assert finished(db) == 1

    out = disk / "table.csv"
    filler = fill(disk)
    line = one_error(merbench(env, "table", "--tracking-uri", uri, "--format", "csv",
                              "--out", str(out)))  # fmt: skip
    assert line == (f"error: {out}: no space left on the device while writing the table; free "
                    "some space and run the command again")  # fmt: skip
    assert sorted(p.name for p in disk.iterdir()) == [
        "artifacts",
        "filler",
        "mlflow.db",
        "mlflow.db.claims",
        "mlflow.db.lock",
    ]


def test_transcripts_on_a_full_disk_keep_the_previous_cache(disk: Path) -> None:
    from merbench.features.transcripts import TranscriptStore

    store = TranscriptStore(disk / "transcripts")
    identity = {"model": "tiny"}
    path = store.path(identity)
    store._save(path, identity, {"u1": "first words"})
    before = path.read_bytes()
    fill(disk)
    with pytest.raises(DiskFull, match="while writing ASR transcripts") as caught:
        store._save(path, identity, {"u2": "more words " * 1000})
    assert caught.value.path == path
    assert path.read_bytes() == before
    assert sorted(p.name for p in (disk / "transcripts").iterdir()) == [
        path.name,
        f"{path.name}.lock",
    ]

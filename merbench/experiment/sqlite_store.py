"""Creating a SQLite tracking store so that no interruption leaves half of one.

MLflow builds a store's schema in place, in dozens of migration steps: a process killed meanwhile
leaves a file that every later command fails to open (``duplicate column name``, ``table ...
already exists``). Here a new store is built under a temporary name beside its path
(``.<name>.creating-<pid>-<random>``), with the ``merbench`` experiment in it, flushed to disk
and renamed into place: at any moment the path holds no store or a complete one. A store left
half-built by an older version or another tool, which fails to open and holds no run, is removed
and built again with a note. Callers hold the store's file lock (`merbench.experiment.tracking`).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import uuid
from pathlib import Path

log = logging.getLogger("merbench.tracking")


def sqlite_path(uri: str) -> Path:
    """The database file of a ``sqlite:///`` URI."""
    return Path(uri.removeprefix("sqlite:///"))


def ensure_created(uri: str, experiment: str, artifact_location: str | None) -> None:
    """Build the store of `uri` (atomically) when its file is absent or empty."""
    path = sqlite_path(uri)
    if path.is_file() and path.stat().st_size > 0:
        return
    for stale in path.parent.glob(f".{path.name}.creating-*"):  # left by a killed creator
        stale.unlink(missing_ok=True)
    tmp = path.with_name(f".{path.name}.creating-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    tmp_uri = f"sqlite:///{tmp}"
    try:
        from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

        store = SqlAlchemyStore(tmp_uri, artifact_location or path.parent.as_uri())
        store.create_experiment(experiment, artifact_location=artifact_location)
        forget_engine(tmp_uri)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
    finally:
        forget_engine(tmp_uri)
        for leftover in (tmp, tmp.with_name(tmp.name + "-journal")):
            leftover.unlink(missing_ok=True)


def forget_engine(uri: str) -> None:
    """Close and drop MLflow's cached database engine of `uri` (its file is replaced)."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    engine = getattr(SqlAlchemyStore, "_engine_map", {}).pop(uri, None)
    if engine is not None:
        engine.dispose()


def holds_no_run(path: Path) -> bool:
    """Whether the SQLite file `path` can be read and holds no run (no ``runs`` table, or an empty
    one); False when it cannot be told."""
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return False
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "runs" not in tables:
            return True
        return con.execute("SELECT count(*) FROM runs").fetchone()[0] == 0
    except sqlite3.Error:
        return False
    finally:
        con.close()


def rebuild_if_half_built(uri: str, error: Exception) -> bool:
    """After opening `uri` failed with `error`: remove the store when it holds no run (a
    half-built schema) and say so; True when removed (the caller builds it again)."""
    path = sqlite_path(uri)
    if not path.is_file() or not holds_no_run(path):
        return False
    forget_engine(uri)
    detail = str(error).splitlines()[0][:200] if str(error) else type(error).__name__
    log.warning(
        "note: tracking store %s was left half-built (%s) and holds no run: building it again",
        path,
        detail,
    )
    path.unlink()
    path.with_name(path.name + "-journal").unlink(missing_ok=True)
    return True

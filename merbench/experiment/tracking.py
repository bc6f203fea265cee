"""MLflow tracking: one MLflow run per (configuration, dataset, split, seed).

Store: ``--tracking-uri``, else ``$MLFLOW_TRACKING_URI``, else ``sqlite:///results/mlflow.db`` with
artifacts in ``results/artifacts``. Every run carries the tags of docs/design.md (prefixed
``merbench.``), the protocol's metrics on dev and test, training curves (logged in batches), and
artifacts: the resolved config, the protocol, per-utterance predictions (Parquet) and the confusion
matrix. The protocol is also the tag `PROTOCOL_TAG`, so the report reads it with the runs.
mlflow is imported inside functions: it takes seconds.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import tempfile
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from merbench import __version__, env
from merbench.files import DiskFull, disk_write, is_disk_full
from merbench.paths import results_dir

EXPERIMENT = "merbench"
TAG = "merbench."
AXES = ("model", "augmentation", "fusion", "ed", "variant", "text")
#: The protocol a run was scored with (`Protocol.record` as JSON): the report's only source of it.
PROTOCOL_TAG = f"{TAG}protocol"


def setup_env() -> None:
    """Environment defaults for an offline, quiet MLflow (`merbench.env.QUIET`)."""
    env.apply(env.QUIET)


def quiet_mlflow() -> None:
    """After importing mlflow (which sets its loggers to INFO): keep "Creating initial MLflow
    database tables..." and the like (MLflow's and Alembic's INFO lines), and the tracebacks MLflow
    logs before raising a database error, off a command's stderr, unless ``MERBENCH_VERBOSE=1``
    (``merbench --verbose``)."""
    import logging

    verbose = os.environ.get("MERBENCH_VERBOSE") == "1"
    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.INFO if verbose else logging.WARNING)
    # its database errors are logged with their traceback, then raised (and reported) anyway
    logging.getLogger("mlflow.store.db.utils").setLevel(
        logging.INFO if verbose else logging.CRITICAL
    )


def resolve_uri(uri: str | None = None) -> str:
    """The tracking URI: `uri`, else ``$MLFLOW_TRACKING_URI``, else the project's SQLite store."""
    uri = uri or os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri
    folder = results_dir().resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'mlflow.db'}"


def artifact_folder(uri: str) -> Path | None:
    """Artifacts beside a SQLite store (``<folder>/artifacts``); None for a tracking server."""
    if uri.startswith("sqlite:///"):
        return (Path(uri.removeprefix("sqlite:///")).parent / "artifacts").resolve()
    return None


def artifact_root(uri: str) -> str | None:
    """`artifact_folder` as a URI (the experiment's artifact location), None for a server."""
    folder = artifact_folder(uri)
    return folder.as_uri() if folder is not None else None


@lru_cache(maxsize=8)
def client(uri: str) -> Any:
    """An `MlflowClient` on `uri` (cached per process)."""
    setup_env()
    from mlflow.tracking import MlflowClient

    quiet_mlflow()
    if artifact_folder(uri) is None:
        return MlflowClient(tracking_uri=uri)
    from filelock import FileLock

    from merbench.experiment import sqlite_store

    # SQLite: the first use creates the store (whole or not at all, `sqlite_store`) or migrates
    # its schema; one process at a time (two at once crash on "duplicate column")
    with FileLock(uri.removeprefix("sqlite:///") + ".lock"):
        sqlite_store.ensure_created(uri, EXPERIMENT, artifact_root(uri))
        try:
            c = MlflowClient(tracking_uri=uri)
            c.search_experiments(max_results=1)
        except Exception as exc:
            if not sqlite_store.rebuild_if_half_built(uri, exc):
                raise
            sqlite_store.ensure_created(uri, EXPERIMENT, artifact_root(uri))
            c = MlflowClient(tracking_uri=uri)
            c.search_experiments(max_results=1)
    return c


def experiment_id(uri: str) -> str:
    """The id of the ``merbench`` experiment in the store, created on first use."""
    c = client(uri)
    exp = c.get_experiment_by_name(EXPERIMENT)
    if exp is not None:
        return exp.experiment_id
    try:
        return c.create_experiment(EXPERIMENT, artifact_location=artifact_root(uri))
    except Exception:  # created meanwhile by another process
        return c.get_experiment_by_name(EXPERIMENT).experiment_id


@lru_cache(maxsize=1)
def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def flatten(obj: Any, prefix: str = "") -> dict[str, str]:
    """Nested dict -> ``{"a.b.c": "value"}`` (MLflow params)."""
    out: dict[str, str] = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.update(flatten(v, f"{prefix}{k}."))
    else:
        out[prefix[:-1]] = json.dumps(obj) if isinstance(obj, (list, tuple)) else str(obj)
    return out


def run_states(uri: str) -> dict[str, str]:
    """run key -> best status among the store's runs (FINISHED wins over FAILED / RUNNING)."""
    frame = search(uri)
    states: dict[str, str] = {}
    if frame.empty:
        return states
    for key, status in zip(frame[f"tags.{TAG}run_key"], frame["status"], strict=True):
        if states.get(key) != "FINISHED":
            states[key] = status
    return states


def search(uri: str, filter_string: str = "") -> pd.DataFrame:
    """All runs of the merbench experiment as MLflow's pandas frame (empty frame if none)."""
    setup_env()
    import mlflow

    quiet_mlflow()
    mlflow.set_tracking_uri(uri)
    exp = experiment_id(uri)
    frame = mlflow.search_runs([exp], filter_string=filter_string, output_format="pandas")
    if frame.empty or f"tags.{TAG}run_key" not in frame:
        return pd.DataFrame(columns=["run_id", "status", f"tags.{TAG}run_key"])
    return frame


def is_finished(uri: str, run_key: str) -> bool:
    """Whether the store holds a FINISHED run of `run_key`."""
    flt = f"tags.`{TAG}run_key` = '{run_key}' and attributes.status = 'FINISHED'"
    return not search(uri, flt).empty


def mark_stale_runs_failed(uri: str, run_keys: Iterable[str]) -> int:
    """Mark runs left RUNNING by an interrupted sweep as FAILED; return how many."""
    keys = set(run_keys)
    frame = search(uri, "attributes.status = 'RUNNING'")
    count = 0
    for run_id, key in zip(frame["run_id"], frame[f"tags.{TAG}run_key"], strict=True):
        if key in keys:
            client(uri).set_terminated(run_id, status="FAILED")
            count += 1
    return count


def curve_name(metric: str) -> str:
    """The MLflow name of a per-epoch curve value: ``dev/ua`` -> ``dev_curve/ua``."""
    return "dev_curve/" + metric[4:] if metric.startswith("dev/") else metric


def store_location(uri: str) -> str:
    """What a message names as the store of `uri`: its database file, else the URI."""
    return uri.removeprefix("sqlite:///") if uri.startswith("sqlite:///") else uri


class TrackedRun:
    """Context manager around one MLflow run: FINISHED on success, FAILED on any exception.

    A full disk met while the run is created, logged or ended is `merbench.files.DiskFull`
    naming the store (or the artifact folder); the run is then never FINISHED.
    """

    def __init__(self, uri: str, name: str, tags: dict[str, str]) -> None:
        self.uri, self.name = uri, name
        self.what = f"run {name} to the tracking store (not recorded as finished)"
        with disk_write(store_location(uri), self.what):
            self.client = client(uri)
            run = self.client.create_run(
                experiment_id(uri),
                run_name=name,
                tags={**tags, f"{TAG}version": __version__, f"{TAG}git_commit": git_commit()},
            )
        self.run_id = run.info.run_id

    def __enter__(self) -> TrackedRun:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc is not None and is_disk_full(exc):
            with contextlib.suppress(Exception):  # the store may have no room for this either
                self.client.set_terminated(self.run_id, status="FAILED")
            where = exc.path if isinstance(exc, DiskFull) else store_location(self.uri)
            raise DiskFull(where, self.what) from None
        with disk_write(store_location(self.uri), self.what):
            if exc is not None and isinstance(exc, Exception):
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                tags = {"error": reason[:5000], **getattr(exc, "tags", {})}
                for key, value in tags.items():
                    self.client.set_tag(self.run_id, f"{TAG}{key}", value)
            self.client.set_terminated(self.run_id, status="FAILED" if exc_type else "FINISHED")

    def set_tag(self, key: str, value: str) -> None:
        self.client.set_tag(self.run_id, key, value)

    def log_params(self, params: dict[str, str]) -> None:
        from mlflow.entities import Param

        items = [Param(k[:250], v[:6000]) for k, v in params.items()]
        for start in range(0, len(items), 100):
            self.client.log_batch(self.run_id, params=items[start : start + 100])

    def log_metrics(self, metrics: dict[str, float], step: int = 0) -> None:
        self.log_curves([{**metrics, "epoch": step}])

    def log_epoch_curves(self, rows: list[dict[str, float]]) -> None:
        """Per-epoch training curves; their dev scores go under ``dev_curve/<metric>`` so that
        ``dev/<metric>`` holds the selected checkpoint's score only (MLflow shows a metric's last
        value, which would otherwise be the last epoch's)."""
        self.log_curves([{curve_name(k): v for k, v in row.items()} for row in rows])

    def log_curves(self, rows: list[dict[str, float]]) -> None:
        """Per-epoch rows (key ``epoch`` = step) in batches of up to 1000 values."""
        import time

        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        items = [
            Metric(k, float(v), now, int(row.get("epoch", 0)))
            for row in rows
            for k, v in row.items()
            if k != "epoch"
        ]
        for start in range(0, len(items), 1000):
            self.client.log_batch(self.run_id, metrics=items[start : start + 1000])

    def log_artifacts(self, files: dict[str, Any]) -> None:
        """Write `files` (name -> DataFrame, dict or bytes) to a temp folder and log them."""
        with tempfile.TemporaryDirectory() as tmp:
            for name, content in files.items():
                path = Path(tmp) / name
                if isinstance(content, pd.DataFrame):
                    if name.endswith(".parquet"):
                        content.to_parquet(path, index=False)
                    else:
                        content.to_csv(path)
                elif isinstance(content, (dict, list)):
                    path.write_text(json.dumps(content, indent=2, sort_keys=True, default=str))
                elif isinstance(content, Path):
                    path.write_bytes(content.read_bytes())
                else:
                    path.write_bytes(content)
            with disk_write(artifact_folder(self.uri) or self.uri, self.what):
                self.client.log_artifacts(self.run_id, tmp)


def load_runs(
    uri: str | None = None, dataset: str | None = None, grid: str | None = None
) -> pd.DataFrame:
    """Finished runs as the runs table (one row per run; see the report layer's input contract)."""
    uri = resolve_uri(uri)
    return runs_table(search(uri, "attributes.status = 'FINISHED'"), dataset, grid)


def runs_table(
    frame: pd.DataFrame, dataset: str | None = None, grid: str | None = None
) -> pd.DataFrame:
    """The runs table from MLflow's search frame (columns ``run_id``, ``status``, ``start_time``,
    ``tags.merbench.<name>`` as written by the runner's tags, ``metrics.<name>``): one row per run
    key (the newest), columns of the run's identity and axes, and its ``test/``/``dev/`` metrics."""
    columns = [
        "run_id",
        "run_key",
        "config_key",
        "name",
        "grid",
        "readable",
        "label",
        "dataset",
        "split",
        "seed",
        "status",
        "protocol",
        "balance_warning",
    ]
    if frame.empty:
        return pd.DataFrame(columns=[*columns, *AXES])
    out = pd.DataFrame({"run_id": frame["run_id"], "status": frame["status"]})
    for col in [c for c in columns if c not in ("run_id", "status")] + list(AXES):
        tag = f"tags.{TAG}{col}"
        out[col] = frame[tag].fillna("") if tag in frame else ""
    out["seed"] = pd.to_numeric(out["seed"], errors="coerce").fillna(0).astype(int)
    for col in frame.columns:
        if col.startswith("metrics.") and (
            col[8:].startswith(("test/", "dev/", "balance/")) or col[8:] == "asr_wer"
        ):
            out[col[8:]] = frame[col].astype(float)
    if dataset:
        out = out[out["dataset"] == dataset]
    if grid:
        out = out[out["grid"] == grid]
    # a run key finished twice (e.g. forced re-runs): keep the newest (runs without a key are
    # not merged: the report counts them as runs without identity tags)
    if "start_time" in frame:
        out["_start"] = frame["start_time"]
        out = out.sort_values("_start", kind="stable")
        repeated = out.duplicated("run_key", keep="last") & (out["run_key"] != "")
        out = out[~repeated].drop(columns="_start")
    return out.reset_index(drop=True)


def load_predictions(run_id: str, uri: str | None = None) -> pd.DataFrame:
    """Per-utterance test predictions of a run (the ``predictions.parquet`` artifact)."""
    uri = resolve_uri(uri)
    setup_env()
    with tempfile.TemporaryDirectory() as tmp:
        path = client(uri).download_artifacts(run_id, "predictions.parquet", tmp)
        return pd.read_parquet(path)


def load_embeddings(run_id: str, uri: str | None = None) -> tuple[Any, list[str]]:
    """Fused test representations of a run ``[N, D]`` and their labels (for t-SNE plots)."""
    import numpy as np

    uri = resolve_uri(uri)
    with tempfile.TemporaryDirectory() as tmp:
        path = client(uri).download_artifacts(run_id, "embeddings.npy", tmp)
        embeddings = np.load(path, allow_pickle=False)
    return embeddings, list(load_predictions(run_id, uri)["label"])

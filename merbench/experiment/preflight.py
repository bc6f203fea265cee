"""Checks made once, before any run starts, so that a sweep fails in its first second with one
line (exit 2, no MLflow run created) rather than after hours, or in every worker.

- `use_cache_root`: the cache root (``--cache-dir``) is a writable folder, and every cache
  (feature store, generated corpora, content hashes) uses it, in this process and its workers.
- `open_tracking`: the tracking URI is a URI and its store opens (schema created, under a lock).
- `check_plan`: every chosen split is usable (`merbench.data.consistency`) and each
  configuration's ``train.select_metric`` is a metric the runs log.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from merbench.data.base import Corpus
from merbench.data.consistency import protocol_problems
from merbench.errors import UserError
from merbench.files import DiskFull, is_disk_full
from merbench.paths import cache_dir

SCHEMES = ("sqlite", "file", "http", "https", "postgresql", "mysql", "mssql", "databricks")


def use_cache_root(cache: str | Path | None) -> Path:
    """The cache root, created and probed with a real write; sets ``$MERBENCH_CACHE`` to it so
    that every cache in this process and the processes it starts uses it."""
    root = cache_dir(cache)
    flag = "--cache-dir" if cache else "cache folder ($MERBENCH_CACHE or ~/.cache/merbench)"
    if root.exists() and not root.is_dir():
        raise UserError(f"{flag} {root}: is a file, not a folder")
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=root, prefix=".write-probe-"):
            pass
    except OSError as exc:
        raise UserError(f"{flag} {root}: not writable ({exc.strerror or exc})") from None
    os.environ["MERBENCH_CACHE"] = str(root.resolve())
    return root


def open_tracking(uri: str) -> None:
    """Open the MLflow store at `uri` (creating its schema, one process at a time) or raise a
    UserError naming it: a plain path, an unknown scheme, a folder that cannot hold the file."""
    from merbench.experiment import tracking

    scheme, sep, rest = uri.partition("://")
    if not sep or scheme.split("+")[0] not in SCHEMES:
        raise UserError(
            f"tracking URI {uri!r}: not a URI (use sqlite:///path/to/mlflow.db for a local "
            "store, or http://host:port for a server)"
        )
    if scheme == "sqlite":
        path = Path(uri.removeprefix("sqlite:///"))
        if path.is_dir():
            raise UserError(f"tracking URI {uri}: {path} is a folder, not a database file")
        folder = path.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-probe-"):
                pass
        except OSError as exc:
            raise UserError(
                f"tracking URI {uri}: cannot write in {folder} ({exc.strerror or exc})"
            ) from None
    try:
        tracking.experiment_id(uri)
    except UserError:
        raise
    except Exception as exc:  # the store's own error: bad file, server down, wrong scheme
        if is_disk_full(exc):
            raise DiskFull(tracking.store_location(uri), "the tracking store's tables") from None
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"tracking URI {uri}: cannot open the store ({detail[:200]})") from None


def check_plan(configs: list[Any], corpus: Corpus, splits: tuple[str, ...] = ()) -> None:
    """Raise a UserError for the first unusable split or unknown ``train.select_metric``."""
    from merbench.train.loop import EXTRA_METRICS

    for name in splits:
        corpus.protocol.split(name)  # an unknown split name is a UserError listing the valid ones
    problems = protocol_problems(corpus, splits)
    if problems:
        more = f" (and {len(problems) - 1} more)" if problems[1:] else ""
        raise UserError(problems[0] + more + "; see `merbench datasets check`")
    metrics = (*corpus.protocol.headline_metrics, *EXTRA_METRICS)
    for conf in configs:
        select = conf.config.train.select_metric
        if select and select not in metrics:
            raise UserError(
                f"{conf.name}: train.select_metric {select!r} is not a metric of {corpus.name}; "
                f"valid: {', '.join(dict.fromkeys(metrics))}"
            )

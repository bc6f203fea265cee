"""What names the rows of tables, recorded in the store when a sweep runs: the configurations that
are a grid's rows, and the labels given with ``--name``.

A grid row is a configuration (a config key per dataset), whatever command ran it: when
``merbench ablate`` finds a row's runs already finished (say, run before by ``merbench run``), it
skips them and records here that their config key is that row, so that the grid's table finds
them. Likewise ``--name LABEL`` on a configuration whose runs all finished before still names it.
Each record is a tag of the store's experiment, keyed by the config key (a grid's: by grid and
config key); it is written when the sweep executes, never by planning (``--dry-run`` writes
nothing). Neither is part of any run's identity.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from merbench.experiment import tracking

_GRID_ROW = f"{tracking.TAG}grid_row."
_LABEL = f"{tracking.TAG}label."


def _grid_prefix(grid: str) -> str:
    """The tag-key prefix of `grid`'s rows (MLflow allows letters, digits and ``_ - .``)."""
    return f"{_GRID_ROW}{re.sub(r'[^A-Za-z0-9_.-]', '_', grid)}."


def _record(uri: str, prefix: str, pairs: dict[str, str]) -> None:
    if not pairs:
        return
    client = tracking.client(uri)
    exp = tracking.experiment_id(uri)
    known = client.get_experiment(exp).tags
    for key, value in pairs.items():
        if known.get(prefix + key) != value:
            client.set_experiment_tag(exp, prefix + key, value)


def _recorded(uri: str, prefix: str) -> dict[str, str]:
    exp = tracking.client(uri).get_experiment_by_name(tracking.EXPERIMENT)
    if exp is None:
        return {}
    return {k[len(prefix) :]: v for k, v in exp.tags.items() if k.startswith(prefix)}


def record_rows(uri: str, grid: str, rows: Iterable[tuple[str, str]]) -> None:
    """Record ``(config key, row name)`` pairs as rows of `grid` (the newest record wins)."""
    if grid:
        _record(uri, _grid_prefix(grid), dict(rows))


def recorded_rows(uri: str, grid: str) -> dict[str, str]:
    """config key -> row name of every configuration recorded as a row of `grid`."""
    return _recorded(uri, _grid_prefix(grid))


def record_labels(uri: str, labels: Iterable[tuple[str, str]]) -> None:
    """Record ``(config key, label)`` pairs (``--name``; empty labels are not recorded)."""
    _record(uri, _LABEL, {key: label for key, label in labels if label})


def recorded_labels(uri: str) -> dict[str, str]:
    """config key -> the label last given to that configuration with ``--name``."""
    return _recorded(uri, _LABEL)

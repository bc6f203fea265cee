"""Which configurations are the rows of a grid: recorded in the store when the grid's sweep runs.

A grid row is a configuration (a config key per dataset), whatever command ran it: when
``merbench ablate`` finds a row's runs already finished (say, run before by ``merbench run``), it
skips them and records here that their config key is that row, so that the grid's table finds
them. The record is a tag of the store's experiment per (grid, config key) whose value is the row
name; it is written when the sweep executes, never by planning (``--dry-run`` writes nothing).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from merbench.experiment import tracking

_PREFIX = f"{tracking.TAG}grid_row."


def _grid_part(grid: str) -> str:
    """`grid` as MLflow allows in a tag key (letters, digits, ``_ - .``; others become ``_``)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", grid)


def record_rows(uri: str, grid: str, rows: Iterable[tuple[str, str]]) -> None:
    """Record ``(config key, row name)`` pairs as rows of `grid` (an existing record is kept
    when it names the same row, replaced otherwise)."""
    pairs = dict(rows)
    if not grid or not pairs:
        return
    client = tracking.client(uri)
    exp = tracking.experiment_id(uri)
    known = client.get_experiment(exp).tags
    prefix = f"{_PREFIX}{_grid_part(grid)}."
    for key, name in pairs.items():
        if known.get(prefix + key) != name:
            client.set_experiment_tag(exp, prefix + key, name)


def recorded_rows(uri: str, grid: str) -> dict[str, str]:
    """config key -> row name of every configuration recorded as a row of `grid`."""
    client = tracking.client(uri)
    exp = client.get_experiment_by_name(tracking.EXPERIMENT)
    if exp is None:
        return {}
    prefix = f"{_PREFIX}{_grid_part(grid)}."
    return {k[len(prefix) :]: v for k, v in exp.tags.items() if k.startswith(prefix)}

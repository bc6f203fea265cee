"""Rows of a table: which runs count, what each configuration is called, which rows are shown.

A row is a configuration: the runs of one config key on a dataset, whatever command launched them.
Runs without merbench's identity tags (a run key and a config key: runs of another tool, or of an
older key scheme) are not counted (`identified`); the commands say how many they left out.

`name_rows` names each configuration, in this order of precedence:

- in a grid's layout, the grid row it is: a run the grid's sweep launched as that row, or a config
  key the sweep recorded as that row (``merbench.experiment.rowrecord``: a row whose runs another
  command had finished). Configurations of no row of the grid are left out; when several
  configurations are one row on a dataset (the grid run again with other overrides), the newest
  is the row.
- the label given with ``--name`` (recorded by the sweep, else the newest its runs carry);
- the readable name its runs logged: the recipe or grid row, then in brackets what differs from
  it (``drkf [fusion=gated]``); runs logged before readable names give their recipe name.

Two configurations of one dataset that end up with one name are told apart by their config key:
``name (key7)``. `select_rows` then keeps the rows a command asks for (glob patterns on row names,
``--complete-only``).
"""

from __future__ import annotations

from collections.abc import Sequence
from fnmatch import fnmatchcase
from typing import Any

import pandas as pd

from merbench.errors import UserError

IDENTITY_COLUMNS = ("run_key", "config_key")


def _text(runs: pd.DataFrame, column: str) -> pd.Series:
    if column not in runs.columns:
        return pd.Series("", index=runs.index, dtype=str)
    return runs[column].fillna("").astype(str)


def identified(runs: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """(the runs carrying both identity tags, how many runs lack one)."""
    keep = pd.Series(True, index=runs.index)
    for column in IDENTITY_COLUMNS:
        keep &= _text(runs, column).str.strip() != ""
    return runs[keep], int((~keep).sum())


def ignored_note(count: int) -> str:
    """The note a command prints when `identified` left `count` runs out ("" for none)."""
    if not count:
        return ""
    runs = "run" if count == 1 else "runs"
    return (f"{count} finished {runs} without merbench's identity tags (run key and config key: "
            "another tool or an older key scheme) ignored")  # fmt: skip


def name_rows(
    runs: pd.DataFrame,
    grid: dict[str, Any] | None = None,
    members: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
) -> pd.DataFrame:
    """`runs` (finished and identified) with a ``row`` column naming each run's configuration;
    with `grid`, only the runs of its rows (`members`: config key -> row name recorded by its
    sweeps). `labels` (config key -> label recorded by the sweeps) outrank the runs' own label
    tags. See the module docstring for the rules."""
    out = runs.copy()
    if grid is not None:
        return _grid_rows(out, grid, members or {})
    out["row"] = _configuration_names(out, labels or {})
    out = _text_source(out)
    return _tell_apart(out)


def _configuration_names(runs: pd.DataFrame, labels: dict[str, str]) -> pd.Series:
    """One name per (dataset, config key): its recorded label, else the newest label tag, else
    the newest readable name."""
    label, readable, name = _text(runs, "label"), _text(runs, "readable"), _text(runs, "name")
    own = readable.where(readable != "", name)
    keys = list(zip(runs["dataset"].astype(str), _text(runs, "config_key"), strict=True))
    chosen: dict[tuple[str, str], tuple[bool, str]] = {}
    for key, lab, nm in zip(keys, label, own, strict=True):  # runs in the order they started
        if lab:
            chosen[key] = (True, lab)
        elif not chosen.get(key, (False, ""))[0]:
            chosen[key] = (False, nm)
    names = [labels.get(k[1]) or chosen[k][1] for k in keys]
    return pd.Series(names, index=runs.index, dtype=str)


def _text_source(runs: pd.DataFrame) -> pd.DataFrame:
    """Gold vs. ASR text side by side: one row per text source."""
    if "text" in runs.columns:
        source = runs["text"].astype(str).replace({"": "gold"})
        if source.nunique() > 1:
            runs["row"] = runs["row"] + " (" + source + " text)"
    return runs


def _tell_apart(runs: pd.DataFrame) -> pd.DataFrame:
    """``name (key7)`` for configurations of one dataset that share a name."""
    keys = _text(runs, "config_key")
    distinct = pd.DataFrame({"row": runs["row"], "dataset": runs["dataset"], "key": keys})
    counts = distinct.drop_duplicates().groupby(["row", "dataset"]).size()
    clashing = set(counts[counts > 1].index)
    clash = [(r, d) in clashing for r, d in zip(runs["row"], runs["dataset"], strict=True)]
    clash_mask = pd.Series(clash, index=runs.index, dtype=bool)
    runs.loc[clash_mask, "row"] = (
        runs.loc[clash_mask, "row"] + " (" + keys[clash_mask].str[:7] + ")"
    )
    return runs


def grid_members(runs: pd.DataFrame, grid: dict[str, Any]) -> dict[str, str]:
    """config key -> row name of the runs launched as rows of `grid` (their ``grid`` tag is the
    grid's name, or any grid when the grid has no name; their ``name`` is a row's)."""
    rows = {str(r["name"]) for r in grid.get("rows", [])}
    grid_name = str(grid.get("name") or "")
    tag = _text(runs, "grid")
    launched = (tag == grid_name) if grid_name else (tag != "")
    launched &= _text(runs, "name").isin(rows)
    sub = runs[launched]
    return dict(zip(_text(sub, "config_key"), _text(sub, "name"), strict=True))


def _grid_rows(runs: pd.DataFrame, grid: dict[str, Any], recorded: dict[str, str]) -> pd.DataFrame:
    """The runs of `grid`'s rows, each named by its row; per (dataset, row) the newest
    configuration."""
    members = {**recorded, **grid_members(runs, grid)}
    runs["_key"] = _text(runs, "config_key")
    runs["row"] = runs["_key"].map(members)
    runs = runs[runs["row"].notna()].copy()
    runs["row"] = runs["row"].astype(str)
    newest = runs.drop_duplicates(["dataset", "row"], keep="last")
    chosen = set(zip(newest["dataset"], newest["_key"], strict=True))
    keep = [(d, k) in chosen for d, k in zip(runs["dataset"], runs["_key"], strict=True)]
    return runs[pd.Series(keep, index=runs.index, dtype=bool)].drop(columns="_key")


def _matches(name: str, patterns: Sequence[str]) -> bool:
    """Whether `name` is one of `patterns` or matches one as a glob (``*``, ``?``, ``[...]``)."""
    return any(name == p or fnmatchcase(name, p) for p in patterns)


def select_rows(
    runs: pd.DataFrame,
    *,
    rows: Sequence[str] = (),
    exclude: Sequence[str] = (),
    complete_only: bool = False,
    grid: dict[str, Any] | None = None,
) -> tuple[pd.DataFrame, dict[str, Any] | None]:
    """The rows a command asks for: (their runs, `grid` with only those rows).

    A row is kept when it matches a pattern of `rows` (all when empty) and none of `exclude`; with
    `complete_only`, a row's runs on a dataset are kept only when it has every (split, seed) unit
    the other kept rows of that dataset have (and a grid row without such runs is left out).
    `runs` carries a ``row`` column (`name_rows`). A pattern that matches no row, or a choice
    that leaves no row, is a UserError naming the rows there are.
    """
    spec = [str(r["name"]) for r in grid.get("rows", [])] if grid is not None else []
    names = list(dict.fromkeys([*spec, *sorted(runs["row"].astype(str).unique())]))
    for option, patterns in (("--rows", rows), ("--exclude", exclude)):
        for pattern in patterns:
            if not _matches_any(names, pattern):
                raise UserError(f"{option} {pattern!r} matches no row; rows: {', '.join(names)}")
    chosen = [n for n in names if (not rows or _matches(n, rows)) and not _matches(n, exclude)]
    out = runs[runs["row"].isin(chosen)]
    if complete_only:
        lacking = incomplete_rows(out)
        pairs = zip(out["dataset"], out["row"], strict=True)
        out = out[pd.Series([p not in lacking for p in pairs], index=out.index, dtype=bool)]
        chosen = [n for n in chosen if n in set(out["row"])]
    if not chosen or (complete_only and out.empty):
        why = "--complete-only" if complete_only and out.empty else "--rows/--exclude"
        raise UserError(f"{why} leaves no row; rows: {', '.join(names)}")
    if grid is not None:
        grid = {**grid, "rows": [r for r in grid.get("rows", []) if str(r["name"]) in chosen]}
    return out, grid


def _matches_any(names: Sequence[str], pattern: str) -> bool:
    return any(_matches(n, [pattern]) for n in names)


def incomplete_rows(runs: pd.DataFrame) -> set[tuple[str, str]]:
    """(dataset, row) pairs whose row lacks a (split, seed) unit another row of the dataset has."""
    out: set[tuple[str, str]] = set()
    for dataset, sub in runs.groupby("dataset", sort=False):
        units = set(zip(sub["split"].astype(str), sub["seed"].astype(int), strict=True))
        for row, own in sub.groupby("row", sort=False):
            if len(set(zip(own["split"].astype(str), own["seed"].astype(int), strict=True))) < len(
                units
            ):
                out.add((str(dataset), str(row)))
    return out

"""Aggregation of tracked runs: one cell per (configuration, dataset, metric) over folds and seeds.

Input is the runs table of the experiment layer (one row per finished run; columns ``run_id,
run_key, config_key, name, grid, readable, label, dataset, split, seed, status``, axis columns
and metric columns
``test/<metric>``, ``dev/<metric>``, values in [0, 1]). A *unit* is one (split, seed) pair: the
runs of two configurations are matched on it. A cell is the mean and the sample standard deviation
(ddof = 1) of a metric over the units of a configuration, with the number of units behind it.

A configuration that lacks some units that other configurations of the same dataset have is
*incomplete*: its cell is still the mean of the units it has, but it is flagged (``complete`` is
False, ``missing`` names the absent units) so that tables mark it; it is never silently averaged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from merbench.errors import UserError
from merbench.report.protocols import headline_metrics, split_protocols
from merbench.report.rows import identified, name_rows

REQUIRED_COLUMNS = ("run_id", "name", "dataset", "split", "seed")


def finished_runs(
    runs: pd.DataFrame,
    grid: dict[str, Any] | None = None,
    members: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
) -> pd.DataFrame:
    """The finished runs of `runs` that carry merbench's identity tags, validated, with a ``row``
    column naming their configuration (`merbench.report.rows.name_rows`; with `grid`, only the
    runs of its rows, named by them; `members`: config key -> row name recorded by its sweeps;
    `labels`: config key -> ``--name`` label recorded by the sweeps).

    Repeated runs of one unit of one configuration (same row, dataset, split, seed) keep the first
    and drop the others. A dataset whose runs carry several protocols is split into one dataset
    key per protocol (`split_protocols`). A table that has a ``row`` column already went through
    here: it is returned as it is.
    """
    if "row" in runs.columns:
        return runs.reset_index(drop=True)
    missing = [c for c in REQUIRED_COLUMNS if c not in runs.columns]
    if missing:
        raise UserError(f"runs table lacks column(s) {', '.join(missing)}")
    out = runs.copy()
    if "status" in out.columns:
        out = out[out["status"].astype(str).str.upper().isin(["FINISHED", ""])]
    out, _ = identified(out)
    out = split_protocols(out)
    out["split"] = out["split"].astype(str)
    out["seed"] = pd.to_numeric(out["seed"], errors="coerce").fillna(0).astype(int)
    out = name_rows(out, grid, members, labels)
    out = out.drop_duplicates(["row", "dataset", "split", "seed"], keep="first")
    return out.reset_index(drop=True)


def text_source_notes(runs: pd.DataFrame) -> list[str]:
    """Caption notes for runs on ASR text: the recogniser and its word error rate on each dataset
    (``asr_wer``, logged by every run on ASR text of a corpus that has gold text)."""
    if "text" not in runs.columns:
        return []
    notes = []
    asr = runs[runs["text"].astype(str).str.startswith("asr")]
    for (dataset, source), group in asr.groupby(["dataset", "text"]):
        wer = group["asr_wer"].dropna() if "asr_wer" in group.columns else pd.Series(dtype=float)
        said = f", WER {100 * wer.iloc[0]:.1f}% against the gold text" if len(wer) else ""
        notes.append(f"{dataset}: {source} text = Whisper {source[4:]} transcripts{said}.")
    return notes


def metric_values(runs: pd.DataFrame, dataset: str, metric: str, part: str = "test") -> pd.Series:
    """Per-run values of `metric` (``<part>/<metric>``); ``avg`` is recomputed per run from the
    dataset's other headline metrics when the column is missing or empty."""
    column = f"{part}/{metric}"
    if column in runs.columns and runs[column].notna().any():
        return runs[column].astype(float)
    if metric == "avg":
        others = [m for m in headline_metrics(runs, dataset) if m != "avg"]
        cols = [f"{part}/{m}" for m in others]
        if others and all(c in runs.columns for c in cols):
            return runs[cols].astype(float).mean(axis=1, skipna=False)
    return pd.Series(np.nan, index=runs.index, dtype=float)


def unit_matrix(
    runs: pd.DataFrame, dataset: str, metric: str, part: str = "test", rows: list[str] | None = None
) -> pd.DataFrame:
    """Metric values as a matrix: index (split, seed) units, one column per configuration row.

    `runs` must come from `finished_runs`. Units a configuration lacks are NaN.
    """
    sub = runs[runs["dataset"] == dataset]
    values = metric_values(sub, dataset, metric, part).to_numpy()
    units = list(zip(sub["split"].tolist(), sub["seed"].tolist(), strict=True))
    unit_order = sorted(set(units))
    present = list(dict.fromkeys(sorted(sub["row"].tolist())))
    columns = present if rows is None else [r for r in rows if r in set(present)]
    u_pos = {u: i for i, u in enumerate(unit_order)}
    c_pos = {c: j for j, c in enumerate(columns)}
    grid = np.full((len(unit_order), len(columns)), np.nan)
    for unit, row, value in zip(units, sub["row"].tolist(), values, strict=True):
        if row in c_pos:
            grid[u_pos[unit], c_pos[row]] = value
    index = pd.MultiIndex.from_tuples(unit_order, names=["split", "seed"])
    return pd.DataFrame(grid, index=index, columns=pd.Index(columns, name="row"))


@dataclass(frozen=True)
class Cell:
    """One aggregated cell: mean and sample std over `n` units (of `n_expected`), values in [0, 1]."""

    mean: float
    std: float
    n: int
    n_expected: int
    missing: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        return self.n == self.n_expected


def _unit_name(split: str, seed: int) -> str:
    return f"{split}/seed{seed}"


def aggregate(
    runs: pd.DataFrame,
    *,
    datasets: list[str] | None = None,
    metrics: dict[str, list[str]] | None = None,
    part: str = "test",
) -> pd.DataFrame:
    """Mean and std over folds and seeds per configuration, dataset and metric.

    Returns a long DataFrame with columns ``row, dataset, metric, mean, std, n, n_expected,
    complete, missing`` (``missing``: comma-separated ``split/seed<k>`` units that other
    configurations of the dataset have and this one lacks). `metrics` maps a dataset to its metric
    names (default: the headline metrics its runs logged). ``std`` is NaN when ``n`` < 2.
    """
    runs = finished_runs(runs)
    datasets = datasets or sorted(runs["dataset"].unique())
    records = []
    for dataset in datasets:
        names = (metrics or {}).get(dataset) or headline_metrics(runs, dataset)
        for metric in names:
            matrix = unit_matrix(runs, dataset, metric, part)
            for row in matrix.columns:
                records.append(
                    {"row": row, "dataset": dataset, "metric": metric, **_cell_record(matrix, row)}
                )
    columns = ["row", "dataset", "metric", "mean", "std", "n", "n_expected", "complete", "missing"]
    return pd.DataFrame.from_records(records, columns=columns)


def _cell_record(matrix: pd.DataFrame, row: str) -> dict[str, Any]:
    cell = cell_of(matrix, row)
    return {
        "mean": cell.mean,
        "std": cell.std,
        "n": cell.n,
        "n_expected": cell.n_expected,
        "complete": cell.complete,
        "missing": ", ".join(cell.missing),
    }


def cell_of(matrix: pd.DataFrame, row: str) -> Cell:
    """The `Cell` of configuration `row` in a `unit_matrix` (units expected = the matrix's index).

    A unit whose run exists but whose metric is NaN counts as missing.
    """
    values = matrix[row]
    present = values.dropna()
    n = int(present.size)
    missing = tuple(_unit_name(s, k) for (s, k) in values.index[values.isna()])
    mean = float(present.mean()) if n else float("nan")
    std = float(present.std(ddof=1)) if n >= 2 else float("nan")
    return Cell(mean=mean, std=std, n=n, n_expected=int(values.size), missing=missing)


def protocol_summary(runs: pd.DataFrame, dataset: str) -> dict[str, Any]:
    """Distinct splits and seeds of a dataset's runs (for captions): ``splits, seeds`` sorted."""
    sub = runs[runs["dataset"] == dataset]
    return {
        "splits": sorted(sub["split"].astype(str).unique()),
        "seeds": sorted(int(s) for s in sub["seed"].unique()),
    }

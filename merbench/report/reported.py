"""Numbers that papers report (`registry/reported/*.toml`), shown beside measured rows, marked.

A file holds ``source`` (how tables cite it) and ``[[tables]]``. A table either covers one dataset
(``dataset = "iemocap"``, rows ``{name, <metric> = value, ...}``) or an ablation grid
(``grid = "drkf-table4"``, rows ``{name, marks, <dataset> = {<metric> = value}}``, keyed by the grid's
row names). Values are in percent as printed; `ReportedRow.values` holds them as fractions in
[0, 1] like the runs table. Reported rows never enter significance tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from merbench.errors import UserError
from merbench.paths import repo_file
from merbench.tomlfile import read_toml

META_KEYS = {"name", "cite", "encoder", "note", "marks"}


@dataclass(frozen=True)
class ReportedRow:
    """One reported row: values keyed by (dataset, metric), as fractions."""

    name: str
    source: str
    values: dict[tuple[str, str], float]
    marks: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())


def reported_files(folder: Path | None = None) -> list[Path]:
    folder = folder or repo_file("registry", "reported")
    return sorted(folder.glob("*.toml")) if folder.is_dir() else []


def _tables(
    grid: str | None, folder: Path | None, columns: list[str] | None
) -> Iterator[tuple[Path, dict, dict]]:
    """(path, document, table) of every table that `load_reported` would read."""
    for path in reported_files(folder):
        doc = read_toml(path, "reported-results file")
        for table in doc.get("tables", []):
            if grid is None and table.get("grid"):
                continue
            if grid is not None:
                same_columns = columns is not None and list(table.get("columns", [])) == columns
                if not table.get("grid") or not (table["grid"] == grid or same_columns):
                    continue
            yield path, doc, table


def load_reported(
    datasets: list[str],
    grid: str | None = None,
    folder: Path | None = None,
    columns: list[str] | None = None,
) -> list[ReportedRow]:
    """Reported rows for `datasets`: those of per-dataset tables (`grid` None), or those of the
    tables of grid `grid` (when `grid` is ``""`` (unnamed), of grid tables whose ``columns`` equal
    `columns`). Rows of one source with the same name are merged (a model reported in the paper's
    IEMOCAP and MELD tables becomes one row)."""
    merged: dict[tuple[str, str], ReportedRow] = {}
    for path, doc, table in _tables(grid, folder, columns):
        source = str(doc.get("source", path.stem))
        for row in table.get("rows", []):
            values = _row_values(row, table, datasets, path)
            if not values:
                continue
            key = (source, str(row["name"]))
            old = merged.get(key)
            notes = tuple(n for n in [row.get("note")] if n)
            if old is None:
                merged[key] = ReportedRow(
                    str(row["name"]), source, values, tuple(row.get("marks", ())), notes
                )
            else:
                merged[key] = ReportedRow(
                    old.name, source, {**old.values, **values}, old.marks,
                    old.notes + tuple(n for n in notes if n not in old.notes),
                )  # fmt: skip
    return list(merged.values())


def reported_protocols(
    datasets: list[str],
    grid: str | None = None,
    folder: Path | None = None,
    columns: list[str] | None = None,
) -> dict[str, dict[str, Any]]:
    """What the reported tables say of each dataset's protocol, for tables without runs: the
    file's ``[datasets.<name>]`` (title, paper_names, order) and each table's ``metrics`` (the
    headline metrics of a per-dataset table, the ablation metrics of a grid table)."""
    out: dict[str, dict[str, Any]] = {}
    for _, doc, table in _tables(grid, folder, columns):
        for dataset in datasets:
            declared = out.setdefault(dataset, {})
            declared.update(doc.get("datasets", {}).get(dataset, {}))
            metrics = table.get("metrics")
            if table.get("grid") and isinstance(metrics, dict) and dataset in metrics:
                declared["ablation_metrics"] = list(metrics[dataset])
            elif table.get("dataset") == dataset and metrics:
                declared["headline_metrics"] = list(metrics)
    return {d: v for d, v in out.items() if v}


def _row_values(
    row: dict, table: dict, datasets: list[str], path: Path
) -> dict[tuple[str, str], float]:
    if "name" not in row:
        raise UserError(f"{path}: a row of table {table.get('id', '?')} has no name")
    out: dict[tuple[str, str], float] = {}
    if table.get("grid"):
        for dataset in datasets:
            for metric, value in row.get(dataset, {}).items():
                out[(dataset, metric)] = float(value) / 100.0
        return out
    declared = table.get("dataset")
    if declared not in datasets:
        return out
    dataset = str(declared)
    for key, value in row.items():
        if key not in META_KEYS:
            out[(dataset, key)] = float(value) / 100.0
    return out

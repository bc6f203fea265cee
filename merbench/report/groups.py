"""Results per group of test utterances: recall per class, accuracy per speaker, gender or length
bin, from the per-utterance predictions the runs logged (never from the corpus itself).

A group's value in one run (one split and seed) is the share of its test utterances predicted
right: per class that is the class's recall. A cell is the mean ± sample std (ddof 1) of those
values over the runs (folds and seeds) whose test part holds the group; ``n`` counts the group's
test utterances over the splits (once per split, not once per seed). Speakers, genders and audio
lengths are the ``speaker``, ``gender`` and ``seconds`` columns the runner logs with the
predictions; a corpus that does not know an utterance's gender logs none. Length bins are fixed,
so that tables of different corpora and runs line up: `LENGTH_BINS`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from merbench.errors import UserError
from merbench.report.aggregate import finished_runs
from merbench.report.cells import mean_std_text

GROUPINGS = ("class", "speaker", "gender", "length")
#: The predictions column each grouping reads.
COLUMNS = {"class": "label", "speaker": "speaker", "gender": "gender", "length": "seconds"}
#: Length bins on the audio duration in seconds: [low, high) and their names.
LENGTH_BINS = (
    (0.0, 3.0, "under 3 s"),
    (3.0, 5.0, "3-5 s"),
    (5.0, math.inf, "5 s and over"),
)
WHAT = {"class": "Recall", "speaker": "Accuracy", "gender": "Accuracy", "length": "Accuracy"}


@dataclass(frozen=True)
class GroupTable:
    """One dataset's per-group results: `frame` has the columns ``group, n, <row>...`` (cells as
    ``(mean, std, units)``), `caption` says what the numbers are."""

    dataset: str
    by: str
    groups: list[str]
    counts: dict[str, str]
    rows: list[str]
    cells: dict[tuple[str, str], tuple[float, float, int]]
    caption: str


def length_bin(seconds: float) -> str | None:
    """The `LENGTH_BINS` name of a duration; None for an unknown (NaN) one."""
    for low, high, name in LENGTH_BINS:
        if low <= seconds < high:
            return name
    return None


def _groups_of(frame: pd.DataFrame, by: str, run_id: str) -> pd.Series:
    column = COLUMNS[by]
    if column not in frame.columns or frame[column].isna().all():
        what = {"class": "labels", "speaker": "speakers", "gender": "genders",
                "length": "audio lengths"}[by]  # fmt: skip
        raise UserError(
            f"--by {by}: the predictions of run {run_id} hold no {what} (its corpus does not "
            "record them, or the run predates their logging)"
        )
    values = frame[column]
    if by == "length":
        return values.astype(float).map(length_bin)
    return values.astype("string")


def group_values(runs: pd.DataFrame, by: str, predictions: Callable[[str], pd.DataFrame]):
    """Long frame ``row, dataset, split, seed, group, correct, total`` of every finished run of
    `runs` (one record per run and group of its test utterances)."""
    if by not in GROUPINGS:
        raise UserError(f"--by {by}: expected {', '.join(GROUPINGS)}")
    records = []
    for run in finished_runs(runs).itertuples(index=False):
        frame = predictions(str(run.run_id))
        groups = _groups_of(frame, by, str(run.run_id))
        right = (frame["prediction"].astype(str) == frame["label"].astype(str)).to_numpy()
        keep = groups.notna().to_numpy()
        table = pd.DataFrame({"group": groups[keep].to_numpy(), "right": right[keep]})
        for group, part in table.groupby("group", sort=True):
            records.append({
                "row": run.row, "dataset": run.dataset, "split": run.split, "seed": run.seed,
                "group": str(group), "correct": int(part["right"].sum()), "total": len(part),
            })  # fmt: skip
    return pd.DataFrame.from_records(
        records, columns=["row", "dataset", "split", "seed", "group", "correct", "total"]
    )


def group_tables(
    runs: pd.DataFrame, by: str, predictions: Callable[[str], pd.DataFrame]
) -> list[GroupTable]:
    """One `GroupTable` per dataset of `runs`: groups down, configurations across."""
    values = group_values(runs, by, predictions)
    out = []
    for dataset, sub in values.groupby("dataset", sort=True):
        rows = list(dict.fromkeys(finished_runs(runs).query("dataset == @dataset")["row"]))
        groups = _ordered(sub["group"].unique(), by)
        cells: dict[tuple[str, str], tuple[float, float, int]] = {}
        counts: dict[str, str] = {}
        for group in groups:
            per_row = []
            for row in rows:
                part = sub[(sub["group"] == group) & (sub["row"] == row)]
                if part.empty:
                    continue
                share = (part["correct"] / part["total"]).to_numpy(float)
                std = float(share.std(ddof=1)) if share.size > 1 else math.nan
                cells[(group, row)] = (float(share.mean()), std, int(share.size))
                per_row.append(int(part.groupby("split")["total"].max().sum()))
            low, high = min(per_row), max(per_row)
            counts[group] = str(low) if low == high else f"{low}-{high}"
        units = sub.groupby("row")[["split", "seed"]].apply(lambda p: len(p.drop_duplicates()))
        caption = (
            f"{WHAT[by]} per {by} (%) on {dataset}: mean ± std over the runs (folds × seeds, "
            f"up to {int(units.max())} per configuration) whose test part holds the group; "
            "n: the group's test utterances over the splits."
        )
        if by == "length":
            caption += " Bins on the audio duration: " + ", ".join(b[2] for b in LENGTH_BINS) + "."
        out.append(GroupTable(str(dataset), by, groups, counts, rows, cells, caption))
    return out


def _ordered(groups: np.ndarray, by: str) -> list[str]:
    if by == "length":
        names = [b[2] for b in LENGTH_BINS]
        return [n for n in names if n in set(groups)]
    return sorted(str(g) for g in groups)


def wide_frame(table: GroupTable) -> pd.DataFrame:
    """The table as a DataFrame of text cells: ``by``, ``n`` and one column per configuration."""
    return pd.DataFrame(
        [[g, table.counts[g], *(mean_std_text(table.cells.get((g, r))) for r in table.rows)]
         for g in table.groups],
        columns=[table.by, "n", *table.rows],
    )  # fmt: skip

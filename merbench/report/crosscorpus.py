"""The train x test matrix of cross-corpus runs, with paired tests between configurations.

A cross-corpus run logs its meeting in its protocol record (``cross``: training and test corpus,
shared classes, label maps, excluded counts; `merbench.data.crosscorpus`). One matrix per
configuration: rows are training corpora, columns test corpora, a cell is the mean ± sample std
(ddof 1) of a metric over the runs of that pair (its seeds: one split, one test set). The
diagonal comes from the ordinary in-corpus runs of the same configuration on that corpus, when
the store has them (mean ± std over folds x seeds, on the corpus's own classes).

Configurations are compared on each pair by the statistics core (`compare_rows`): one test set,
so the paired t-test over seeds with two or more seeds, the paired permutation test over the test
utterances with one seed. A cell marked † differs significantly from the best configuration of
that pair.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from merbench.data.crosscorpus import meeting_note
from merbench.errors import UserError
from merbench.report.aggregate import cell_of, finished_runs, unit_matrix
from merbench.report.cells import mean_std_text
from merbench.report.compare import compare_rows
from merbench.report.protocols import headline_metrics

MATRIX_FORMATS = ("terminal", "md", "csv")


@dataclass(frozen=True)
class CrossMatrix:
    """The matrices of one metric: `cells` maps (configuration, train, test) to (mean, std, n);
    `marked` holds the off-diagonal cells that differ significantly from their pair's best;
    `meetings` is each pair's meeting record; `tests` one caption sentence per pair tested."""

    metric: str
    rows: list[str]
    trains: list[str]
    tests: list[str]
    cells: dict[tuple[str, str, str], tuple[float, float, int]]
    marked: frozenset[tuple[str, str, str]]
    meetings: dict[tuple[str, str], dict]
    comparisons: pd.DataFrame
    sentences: list[str]


def cross_meetings(runs: pd.DataFrame) -> dict[str, dict]:
    """Dataset key -> meeting record, for the datasets of `runs` that are cross-corpus pairs."""
    out: dict[str, dict] = {}
    for dataset, protocol in runs[["dataset", "protocol"]].drop_duplicates().itertuples(False):
        try:
            record = json.loads(protocol) if protocol else {}
        except ValueError:
            continue
        if record.get("cross"):
            out[str(dataset)] = record["cross"]
    return out


def cross_matrix(
    runs: pd.DataFrame,
    metric: str | None = None,
    predictions: Callable[[str], pd.DataFrame] | None = None,
    test: str | None = None,
    alpha: float = 0.05,
) -> CrossMatrix:
    """The `CrossMatrix` of `runs` (finished runs, all datasets) for `metric` (default: the
    first headline metric of the first pair). UserError when `runs` hold no cross-corpus run."""
    runs = finished_runs(runs)
    meetings = cross_meetings(runs) if "protocol" in runs.columns else {}
    if not meetings:
        raise UserError(
            "--matrix: no cross-corpus runs among these runs (merbench run --train-on A "
            "--test-on B makes them)"
        )
    pairs = sorted(meetings)
    metric = metric or headline_metrics(runs, pairs[0])[0]
    cross = runs[runs["dataset"].isin(pairs)]
    rows = sorted(cross["row"].unique())
    trains = sorted({m["train"] for m in meetings.values()})
    tests = sorted({m["test"] for m in meetings.values()} | set(trains))
    cells: dict[tuple[str, str, str], tuple[float, float, int]] = {}
    for dataset in [*pairs, *trains]:
        sub = runs[(runs["dataset"] == dataset) & runs["row"].isin(rows)]
        if sub.empty:
            continue
        train, test_on = (
            (meetings[dataset]["train"], meetings[dataset]["test"])
            if dataset in meetings
            else (dataset, dataset)
        )
        matrix = unit_matrix(sub, dataset, metric)
        for row in matrix.columns:
            cell = cell_of(matrix, row)
            if cell.n:
                cells[(row, train, test_on)] = (cell.mean, cell.std, cell.n)
    if not cells:
        raise UserError(f"--metric {metric}: no cross-corpus run logged it")
    comparisons, plans = compare_rows(
        cross, datasets=pairs, metrics={p: [metric] for p in pairs}, test=test or "auto",
        alpha=alpha, predictions=predictions,
    )  # fmt: skip
    marked = frozenset(
        (r.row, meetings[r.dataset]["train"], meetings[r.dataset]["test"])
        for r in comparisons.itertuples(index=False)
        if r.significant
    )
    tested = [p for p in pairs if p in plans and cross[cross["dataset"] == p]["row"].nunique() > 1]
    by_sentence: dict[str, list[str]] = {}
    for p in tested:  # pairs tested alike share one sentence
        by_sentence.setdefault(plans[p].sentence(), []).append(p)
    sentences = [f"{', '.join(ps)}: {sentence}" for sentence, ps in by_sentence.items()]
    sentences += [comparison_line(r) for r in comparisons.itertuples(index=False)]
    by_pair = {(m["train"], m["test"]): m for m in meetings.values()}
    return CrossMatrix(metric, rows, trains, tests, cells, marked, by_pair, comparisons, sentences)


def comparison_line(comparison: Any) -> str:
    """One comparison of `compare_rows` as a sentence: the pair, the difference of the row from
    the reference in points (with its 95% CI when the test gives one), p and Holm-adjusted p."""
    c = comparison
    ci = ""
    if math.isfinite(c.ci_low) and math.isfinite(c.ci_high):
        ci = f" (95% CI {100 * c.ci_low:+.1f} to {100 * c.ci_high:+.1f})"
    return (
        f"{c.dataset}: {c.row} - {c.reference} = {100 * c.diff:+.1f} points{ci}, "
        f"p = {c.p_value:.3g}, adjusted {c.p_adjusted:.3g}."
    )


def _cell_text(matrix: CrossMatrix, row: str, train: str, test: str) -> str:
    cell = matrix.cells.get((row, train, test))
    if cell is None:
        return "-"
    return mean_std_text(cell) + (" †" if (row, train, test) in matrix.marked else "")


def caption(matrix: CrossMatrix) -> str:
    """What the matrices show, each pair's labels and excluded counts, and the tests."""
    parts = [
        f"Cross-corpus {matrix.metric} (%): rows = training corpus, columns = test corpus. "
        "Off the diagonal: trained and selected on the row corpus (all of it but its dev part, "
        "which selects the model), tested on all of the column corpus on the classes both share; "
        "mean ± std over seeds. Diagonal: the in-corpus runs of the same configuration (the "
        "corpus's own protocol and classes; mean ± std over folds × seeds); '-': no runs."
    ]
    parts += [meeting_note(m) + "." for _, m in sorted(matrix.meetings.items())]
    if matrix.sentences:
        parts.append("Tests between configurations on each pair (same test utterances, seeds):")
        parts += matrix.sentences
    else:
        parts.append("One configuration per pair: no test between configurations.")
    return "\n".join(parts)


def _markdown(matrix: CrossMatrix) -> str:
    blocks = []
    for row in matrix.rows:
        lines = [f"**{row}**", "", "| train \\ test | " + " | ".join(matrix.tests) + " |",
                 "|:--|" + "--:|" * len(matrix.tests)]  # fmt: skip
        for train in matrix.trains:
            texts = [_cell_text(matrix, row, train, test) for test in matrix.tests]
            lines.append(f"| {train} | " + " | ".join(texts) + " |")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n\n" + caption(matrix) + "\n"


def _csv(matrix: CrossMatrix) -> str:
    records = [
        {"row": row, "train": train, "test": test, "metric": matrix.metric, "mean": cell[0],
         "std": cell[1], "runs": cell[2], "significant": (row, train, test) in matrix.marked}
        for (row, train, test), cell in sorted(matrix.cells.items())
    ]  # fmt: skip
    return pd.DataFrame.from_records(records).to_csv(index=False)


def render_matrix(
    runs: pd.DataFrame,
    metric: str | None = None,
    predictions: Callable[[str], pd.DataFrame] | None = None,
    fmt: str = "terminal",
    test: str | None = None,
    alpha: float = 0.05,
) -> str:
    """The cross-corpus matrices of `runs` in `fmt` (terminal and md: Markdown; csv: one line
    per configuration and pair, values in [0, 1])."""
    if fmt not in MATRIX_FORMATS:
        raise UserError(f"--matrix has no --format {fmt}: use {', '.join(MATRIX_FORMATS)}")
    matrix = cross_matrix(runs, metric, predictions, test, alpha)
    return _csv(matrix) if fmt == "csv" else _markdown(matrix)

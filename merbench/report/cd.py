"""Critical-difference diagrams (Demšar 2006): several configurations ranked over many blocks.

A *block* is one (dataset, split): the configurations' scores on it (the dataset's first ablation
metric, or `metric`; averaged over seeds, as the table's fold-level tests do) are ranked, 1 =
best, ties sharing the mean rank. The Friedman test asks whether the average ranks differ; the
Nemenyi post-hoc test calls two configurations different when their average ranks differ by more
than the critical difference CD = q_alpha * sqrt(k (k + 1) / (6 N)) (k configurations, N blocks).
The statistics and the diagram are `autorank`'s (Herbold 2020, Apache-2.0): ``force_mode =
"nonparametric"`` selects Friedman + Nemenyi whatever the normality tests say. Folds of one corpus
share training data, so they are not independent blocks: the diagram says so in its title.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from merbench.errors import UserError
from merbench.report.aggregate import finished_runs, unit_matrix
from merbench.report.protocols import headline_metrics

MIN_BLOCKS = 5  # autorank's floor; Demšar's tables start at N = 5 too


@dataclass(frozen=True)
class CriticalDifference:
    """Average ranks (best first), the Nemenyi CD at `alpha`, the Friedman p value, the number
    of blocks and the pairs whose average ranks differ by more than the CD."""

    ranks: pd.Series
    cd: float
    p_value: float
    alpha: float
    blocks: int
    significant: list[tuple[str, str]]
    result: object  # autorank's RankResult (for its diagram)


def critical_difference(scores: pd.DataFrame, alpha: float = 0.05) -> CriticalDifference:
    """Friedman + Nemenyi on `scores` (one row per block, one column per configuration, higher
    is better, no NaN) through autorank. At least 3 configurations and 5 blocks."""
    if scores.shape[1] < 3:
        raise UserError(
            f"a critical-difference diagram needs at least 3 configurations, got {scores.shape[1]}"
        )
    if len(scores) < MIN_BLOCKS:
        raise UserError(
            f"a critical-difference diagram needs at least {MIN_BLOCKS} blocks (dataset x split "
            f"with every configuration), got {len(scores)}"
        )
    from autorank import autorank

    with contextlib.redirect_stdout(io.StringIO()):  # autorank prints its test selection
        result = autorank(
            scores.reset_index(drop=True).astype(float), alpha=alpha, order="descending",
            force_mode="nonparametric",
        )  # fmt: skip
    ranks = result.rankdf["meanrank"].astype(float).sort_values()
    names = list(ranks.index)
    significant = [
        (a, b) for i, a in enumerate(names) for b in names[i + 1 :]
        if ranks[b] - ranks[a] > result.cd
    ]  # fmt: skip
    return CriticalDifference(ranks, float(result.cd), float(result.pvalue), alpha, len(scores),
                              significant, result)  # fmt: skip


def block_scores(
    runs: pd.DataFrame,
    *,
    rows: list[str] | None = None,
    datasets: list[str] | None = None,
    metric: str | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """Scores per (dataset, split) block (seed-averaged) and configuration, over every split of
    each dataset: the configurations drawn are those with a finished run on every block (and on
    every dataset); the others are named in the returned notes, never a reason to drop blocks."""
    runs = finished_runs(runs)
    frames, notes = [], []
    for dataset in datasets or sorted(runs["dataset"].unique()):
        if not (runs["dataset"] == dataset).any():
            continue
        name = metric or next(m for m in headline_metrics(runs, dataset) if m != "avg")
        matrix = unit_matrix(runs, dataset, name, rows=rows).groupby(level="split").mean()
        partial = [c for c in matrix.columns if matrix[c].isna().any()]
        if partial:
            left = ", ".join(f"{c} ({int(matrix[c].notna().sum())})" for c in partial)
            notes.append(f"{dataset}: left out, with fewer than its {len(matrix)} splits: {left}")
        complete = matrix.drop(columns=partial)
        complete.index = pd.Index([f"{dataset}/{s}" for s in complete.index], name="block")
        frames.append(complete)
        notes.append(f"{dataset}: {name}")
    if not frames:
        raise UserError("no finished runs to rank")
    scores = pd.concat(frames)
    absent = [c for c in scores.columns if scores[c].isna().any()]
    if absent:
        notes.append(f"left out, not on every dataset: {', '.join(absent)}")
    return scores.drop(columns=absent), notes


def plot_cd(result: CriticalDifference, out: Path, title: str = "") -> Path:
    """The CD diagram (autorank's drawing: average-rank axis, best to the right; configurations
    joined by a bar are not significantly different) with the test in the title."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from autorank import plot_stats

    ax = plot_stats(result.result, allow_insignificant=True, width=7)
    fig = ax.figure
    line = (f"Friedman p = {result.p_value:.3g}; Nemenyi CD = {result.cd:.2f} at "
            f"α = {result.alpha:g}; N = {result.blocks} blocks")  # fmt: skip
    fig.suptitle(f"{title}\n{line}" if title else line, fontsize=9, y=1.18)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120, bbox_inches="tight", facecolor="white")
    plt.close(fig)
    return out


def plot_cd_files(
    runs: pd.DataFrame,
    out_dir: Path,
    *,
    rows: list[str] | None = None,
    datasets: list[str] | None = None,
    metric: str | None = None,
    alpha: float = 0.05,
    name: str = "cd",
) -> tuple[Path, CriticalDifference]:
    """`block_scores` -> `critical_difference` -> `plot_cd` into ``out_dir/<name>.png``."""
    scores, notes = block_scores(runs, rows=rows, datasets=datasets, metric=metric)
    try:
        result = critical_difference(scores, alpha)
    except UserError as exc:
        left = [n for n in notes if "left out" in n]
        raise UserError("; ".join([str(exc), *left])) from None
    title = "Average ranks over dataset x split blocks (seed-averaged; " + "; ".join(notes) + ")"
    return plot_cd(result, out_dir / f"{name}.png", title), result


def cd_summary(result: CriticalDifference) -> str:
    """The average ranks, the CD and the significant pairs, one line each."""
    lines = [f"{rank:6.3f}  {name}" for name, rank in result.ranks.items()]
    lines.append(
        f"Friedman p = {result.p_value:.4g}; Nemenyi CD = {result.cd:.3f} at alpha = "
        f"{result.alpha:g} over {result.blocks} blocks"
    )
    pairs = ", ".join(f"{a} > {b}" for a, b in result.significant)
    lines.append(f"significantly different: {pairs or 'none'}")
    return "\n".join(lines)

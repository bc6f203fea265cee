"""Figures for papers and for MLflow: confusion matrices, t-SNE of fused representations, forest
plots of differences to the reference configuration.

Every function writes PNG files and returns their paths; `plot_files` is what ``merbench plot``
calls (the CLI may log the returned files as MLflow artifacts). matplotlib (Agg, via `Figure`
without pyplot's global state) and sklearn are imported inside the functions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from merbench.errors import UserError
from merbench.report.aggregate import finished_runs
from merbench.report.protocols import headline_metrics


def _figure(width: float, height: float) -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=120, layout="constrained")


def _wrap(text: str, width: int = 40) -> str:
    """A title or label broken into lines of `width` characters (long ones were clipped)."""
    import textwrap

    return "\n".join(textwrap.wrap(text, width)) or text


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "plot"


def confusion_counts(frames: Sequence[pd.DataFrame], labels: Sequence[str]) -> np.ndarray:
    """Confusion counts ``[C, C]`` (rows true, columns predicted) summed over prediction frames
    (columns ``label``, ``prediction``), in the class order `labels`."""
    index = {c: i for i, c in enumerate(labels)}
    counts = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for frame in frames:
        true = frame["label"].map(index).to_numpy()
        pred = frame["prediction"].map(index).to_numpy()
        np.add.at(counts, (true, pred), 1)
    return counts


def plot_confusion(counts: np.ndarray, labels: Sequence[str], out: Path, title: str) -> Path:
    """Row-normalised confusion matrix (recall per true class) annotated with counts."""
    totals = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)
    size = 1.2 + 0.55 * len(labels)
    fig = _figure(size + 1.0, size)
    ax = fig.add_subplot()
    image = ax.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(_wrap(title), fontsize=9)
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(j, i, f"{share[i, j]:.2f}\n({counts[i, j]})", ha="center", va="center",
                    fontsize=7, color="white" if share[i, j] > 0.6 else "black")  # fmt: skip
    fig.colorbar(image, ax=ax, fraction=0.046)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    return out


def plot_confusions(
    runs: pd.DataFrame,
    predictions: Callable[[str], pd.DataFrame],
    dataset: str,
    out_dir: Path,
    rows: Sequence[str] | None = None,
) -> list[Path]:
    """One confusion matrix per configuration on `dataset`, summed over its folds and seeds."""
    runs = finished_runs(runs)
    sub = runs[runs["dataset"] == dataset]
    frames = {
        row: [predictions(rid) for rid in group["run_id"]] for row, group in sub.groupby("row")
    }
    labels = sorted({c for fs in frames.values() for f in fs for c in set(f["label"])})
    paths = []
    for row in rows or sorted(frames):
        if row not in frames:
            continue
        counts = confusion_counts(frames[row], labels)
        n = len(frames[row])
        title = f"{row} on {dataset} ({n} run{'s' if n != 1 else ''}, summed over folds and seeds)"
        paths.append(
            plot_confusion(counts, labels, out_dir / f"confusion_{dataset}_{_slug(row)}.png", title)
        )
    return paths


def plot_tsne(
    embeddings: np.ndarray,
    labels: Sequence[str],
    out: Path,
    title: str = "t-SNE of fused representations",
    seed: int = 0,
    perplexity: float = 30.0,
) -> Path:
    """2-D t-SNE (sklearn) of `embeddings` ``[N, d]`` coloured by `labels` ``[N]``.

    Perplexity is capped at (N - 1) / 3 so that small test splits work.
    """
    from sklearn.manifold import TSNE

    x = np.asarray(embeddings, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] != len(labels):
        raise UserError(f"t-SNE needs embeddings [N, d] and N labels, got {x.shape}, {len(labels)}")
    if x.shape[0] < 5:
        raise UserError(f"t-SNE needs at least 5 points, got {x.shape[0]}")
    from threadpoolctl import threadpool_limits

    perplexity = min(perplexity, (x.shape[0] - 1) / 3)
    # Barnes-Hut's OpenMP threads spin on a busy machine: one thread is faster below ~2000 points
    with threadpool_limits(limits=1 if x.shape[0] < 2000 else None):
        points = TSNE(
            n_components=2, perplexity=perplexity, random_state=seed, init="pca"
        ).fit_transform(x)
    fig = _figure(5.0, 4.2)
    ax = fig.add_subplot()
    label_array = np.asarray(labels)
    for name in sorted(set(label_array.tolist())):
        mask = label_array == name
        ax.scatter(points[mask, 0], points[mask, 1], s=10, alpha=0.8, label=str(name))
    ax.legend(fontsize=7, markerscale=1.5)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(_wrap(title), fontsize=9)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    return out


def plot_tsne_runs(
    runs: pd.DataFrame,
    embeddings: Callable[[str], tuple[np.ndarray, Sequence[str]]],
    dataset: str,
    out_dir: Path,
    split: str | None = None,
    rows: Sequence[str] | None = None,
) -> list[Path]:
    """One t-SNE per configuration of its fused test representations on one split (default: the
    first split; the DRKF paper shows IEMOCAP session 2) and its lowest seed. `embeddings(run_id)`
    returns ``(array [N, d], labels [N])``."""
    runs = finished_runs(runs)
    sub = runs[runs["dataset"] == dataset]
    if sub.empty:
        return []
    split = split or sorted(sub["split"].unique())[0]
    sub = sub[sub["split"] == str(split)].sort_values("seed")
    paths = []
    for row in rows or sorted(sub["row"].unique()):
        chosen = sub[sub["row"] == row]
        if chosen.empty:
            continue
        run = chosen.iloc[0]
        x, labels = embeddings(str(run["run_id"]))
        title = f"{row}: fused test representations, {dataset} split {split}, seed {run['seed']}"
        out = out_dir / f"tsne_{dataset}_{split}_{_slug(row)}.png"
        paths.append(plot_tsne(x, labels, out, title=title))
    return paths


def plot_forest(comparisons: pd.DataFrame, out: Path, title: str = "") -> Path:
    """Forest plot: each row's difference to the reference (percentage points) with its CI.

    `comparisons` are records of `compare_rows` for one (dataset, metric). Filled markers: marked
    significant after correction; rows whose test gives no CI show the point only.
    """
    if comparisons.empty:
        raise UserError("nothing to plot: no comparisons")
    frame = comparisons.reset_index(drop=True)
    fig = _figure(5.5, 1.0 + 0.45 * len(frame))
    ax = fig.add_subplot()
    y = np.arange(len(frame))[::-1]
    diff = 100 * frame["diff"].to_numpy(float)
    low = 100 * frame["ci_low"].to_numpy(float)
    high = 100 * frame["ci_high"].to_numpy(float)
    has_ci = ~np.isnan(low) & ~np.isnan(high)
    ax.errorbar(diff[has_ci], y[has_ci], xerr=[diff[has_ci] - low[has_ci], high[has_ci] - diff[has_ci]],
                fmt="none", ecolor="0.3", capsize=3)  # fmt: skip
    sig = frame["significant"].to_numpy(bool)
    ax.scatter(diff[sig], y[sig], color="C3", zorder=3, label="significant")
    ax.scatter(diff[~sig], y[~sig], facecolors="white", edgecolors="C0", zorder=3, label="n.s.")
    ax.axvline(0.0, color="0.5", lw=0.8, ls="--")
    ax.set_yticks(y, frame["row"].tolist())
    reference = frame["reference"].iloc[0]
    ax.set_xlabel(_wrap(f"difference to {reference} (points, {frame['test'].iloc[0]})"))
    ax.set_title(_wrap(title), fontsize=9)
    ax.legend(fontsize=7, loc="best")
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    return out


def plot_files(
    runs: pd.DataFrame,
    *,
    out_dir: Path,
    datasets: list[str] | None = None,
    grid: dict[str, Any] | None = None,
    predictions: Callable[[str], pd.DataFrame] | None = None,
    reference: str | None = None,
    test: str = "auto",
    alpha: float = 0.05,
    metric: str | None = None,
    embeddings: Callable[[str], tuple[np.ndarray, Sequence[str]]] | None = None,
    tsne_split: str | None = None,
) -> list[Path]:
    """All figures of `runs`: per dataset a forest plot of the first headline metric (or `metric`)
    against the reference; with `predictions`, a confusion matrix per configuration; with
    `embeddings` (run id -> (array [N, d], labels)), a t-SNE per configuration on `tsne_split`.
    Returns the written PNG paths (for the CLI to print or log to MLflow)."""
    from merbench.report.compare import compare_rows

    runs = finished_runs(runs, grid=grid)
    rows = None
    if grid is not None:
        rows = [str(r["name"]) for r in grid.get("rows", [])]
        reference = reference or str(grid.get("reference") or rows[-1])
    datasets = datasets or sorted(runs["dataset"].unique())
    paths: list[Path] = []
    for dataset in datasets:
        if not (runs["dataset"] == dataset).any():
            continue
        name = metric or next(m for m in headline_metrics(runs, dataset) if m != "avg")
        comparisons, _ = compare_rows(
            runs, datasets=[dataset], metrics={dataset: [name]}, rows=rows, reference=reference,
            test=test, alpha=alpha, predictions=predictions,
        )  # fmt: skip
        if not comparisons.empty:
            paths.append(plot_forest(comparisons, out_dir / f"forest_{dataset}_{name}.png",
                                     f"{dataset}: {name}"))  # fmt: skip
        if predictions is not None:
            paths += plot_confusions(runs, predictions, dataset, out_dir, rows)
        if embeddings is not None:
            paths += plot_tsne_runs(runs, embeddings, dataset, out_dir, tsne_split, rows)
    return paths

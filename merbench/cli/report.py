"""`merbench table`, `plot`, `report` and `ui`: read the tracked runs of an MLflow store and
render them with the report layer; this module parses and prints."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from merbench.cli.app import TrackingUri, app, choice, console, err_console, perturb_option
from merbench.errors import UserError
from merbench.files import disk_write, write_atomic

# -- table --------------------------------------------------------------------------------------
TableFormat = Literal["terminal", "md", "latex", "csv", "pdf", "png"]
PlotKind = Literal["figures", "cd", "all"]
#: the slices of the test utterances (`merbench.data.slices.SLICES`, kept equal by a test)
SliceName = Literal["inconsistent", "consistent"]
#: the groupings of ``--by`` (`merbench.report.groups.GROUPINGS`, kept equal by a test)
GroupBy = Literal["class", "speaker", "gender", "length"]
TEST_HELP = (
    "Significance test: auto (default, by layout: corrected over folds; ttest over the seeds of "
    "one split; permutation with one seed), corrected (Nadeau-Bengio corrected resampled t-test "
    "over folds), ttest (paired t-test over folds or seeds), wilcoxon, permutation, bootstrap, "
    "mcnemar (over test utterances: compare trained models, seeds pooled), none; plugins: "
    "merbench list stat_tests."
)


def _pattern_option(flag: str, what: str) -> Any:
    """A repeatable ``FLAG PATTERN`` option on row names (the name itself, or a glob on it)."""
    return typer.Option(
        flag, metavar="PATTERN", help=f"{what} whose name is PATTERN or matches it as a glob "
        "(* ? [...]); repeatable.",
    )  # fmt: skip


Rows = Annotated[list[str] | None, _pattern_option("--rows", "Only the rows")]
Perturb = Annotated[
    list[str] | None,
    perturb_option(
        "Results under test-time conditions instead (as run and ablate --perturb evaluated "
        "them): each condition's difference from clean and its paired test; repeatable."
    ),
]
Exclude = Annotated[list[str] | None, _pattern_option("--exclude", "Leave out the rows")]
CompleteOnly = Annotated[
    bool,
    typer.Option(
        "--complete-only",
        help="Only rows with every split and seed of their dataset (by default an incomplete "
        "row is shown and flagged, never chosen as the best row or the reference).",
    ),
]


@app.command()
def table(
    dataset: Annotated[list[str] | None, typer.Option(help="Dataset(s) to show.")] = None,
    grid: Annotated[str | None, typer.Option(help="Ablation layout of this grid.")] = None,
    format: Annotated[
        TableFormat,
        choice(
            "--format",
            TableFormat,
            help="terminal, md, latex, csv, or pdf / png (the LaTeX compiled with pdflatex; "
            "needs --out).",
        ),
    ] = "terminal",
    out: Annotated[Path | None, typer.Option(help="Write to FILE instead of printing.")] = None,
    reference: Annotated[
        str | None, typer.Option(help="Row compared against (default: best).")
    ] = None,
    test: Annotated[
        str | None,
        typer.Option(help=TEST_HELP),
    ] = None,
    alpha: Annotated[float, typer.Option(help="Significance level.")] = 0.05,
    reported: Annotated[bool, typer.Option(help="Show numbers papers report (marked).")] = True,
    slice: Annotated[
        SliceName | None,
        choice("--slice", SliceName, help="Add metrics on a slice: inconsistent, consistent."),
    ] = None,
    details: Annotated[
        bool,
        typer.Option(
            help="Add the comparisons: difference, CI, p, corrected p, effect size, minimum "
            "detectable difference."
        ),
    ] = False,
    balance: Annotated[
        bool,
        typer.Option(
            help="Show the loss balance instead: each loss term's value and share of the "
            "gradient norm on the shared parameters, over the first training steps."
        ),
    ] = False,
    by: Annotated[
        GroupBy | None,
        choice(
            "--by",
            GroupBy,
            help="Per-group results instead: class (recall), speaker, gender or length (accuracy; "
            "bins under 3 s, 3-5 s, 5 s and over), from the runs' logged predictions.",
        ),
    ] = None,
    perturb: Perturb = None,
    matrix: Annotated[
        bool,
        typer.Option(
            "--matrix",
            help="Cross-corpus matrix instead (runs of run/ablate --train-on A --test-on B): "
            "training corpus x test corpus per configuration, in-corpus diagonal, paired tests.",
        ),
    ] = False,
    metric: Annotated[
        str | None, typer.Option(help="Metric of --matrix (default: the first headline).")
    ] = None,
    rows: Rows = None,
    exclude: Exclude = None,
    complete_only: CompleteOnly = False,
    tracking_uri: TrackingUri = None,
) -> None:
    """Paper-style table of tracked runs: mean ± std over folds and seeds, significance marks.

    A row is a configuration, whatever command ran it, named by its recipe and what differs
    from it, or by the --name of run and ablate; with --grid, by the grid's rows."""
    from merbench.experiment import tracking
    from merbench.report.render import render_table

    compiled = format in ("pdf", "png")
    if compiled and out is None:
        raise UserError(f"--format {format} writes a file: give --out FILE.{format}")
    if compiled and balance:
        raise UserError(f"--balance has no --format {format}: use md or csv")
    if by is not None and (compiled or balance):
        raise UserError(f"--by has no --{'balance' if balance else 'format ' + format}")
    if perturb and (by is not None or balance or matrix or format not in ("terminal", "md", "csv")):
        other = (
            "--by" if by is not None else "--balance" if balance else "--matrix" if matrix
            else f"--format {format}"
        )  # fmt: skip
        raise UserError(f"--perturb has no {other}: its table is terminal, md or csv")
    from merbench.experiment.conditions import parse_perturb

    conditions = parse_perturb(perturb)
    if metric is not None and not matrix:
        raise UserError("--metric is an option of --matrix")
    if matrix and (by is not None or balance):
        raise UserError(f"--matrix has no --{'balance' if balance else 'by'}")
    if compiled:
        from merbench.report.latex import require_tools

        require_tools(format)  # one line before reading the store when pdflatex is missing
    uri = tracking.resolve_uri(tracking_uri)
    _open_store(uri)
    runs, grid_spec = _chosen_runs(uri, dataset, grid, rows, exclude, complete_only)
    if conditions:
        from merbench.cli.perturb import conditions_text

        text = conditions_text(uri, runs, conditions, format, test, alpha, grid_spec)
    elif matrix:
        from merbench.report.crosscorpus import render_matrix

        text = render_matrix(
            runs, metric, lambda run_id: tracking.load_predictions(run_id, uri), format, test, alpha
        )
    elif by is not None:
        from merbench.report.render_groups import render_groups

        text = render_groups(
            runs, by, lambda run_id: tracking.load_predictions(run_id, uri), format
        )
    elif balance:
        from merbench.report.balance import balance_frame, balance_markdown

        frame = balance_frame(runs)
        text = frame.to_csv(index=False) if format == "csv" else balance_markdown(frame)
    else:
        text = render_table(
            runs,
            datasets=sorted(runs["dataset"].unique()),
            grid=grid_spec,
            fmt="latex" if compiled else format,
            reference=reference,
            test=test,
            alpha=alpha,
            predictions=lambda run_id: tracking.load_predictions(run_id, uri),
            reported=reported,
            details=details,
            **({"slice": slice} if slice else {}),
        )
    if compiled and out is not None:  # --out was required above
        from merbench.report.latex import render_file

        with disk_write(str(out), "the table"):
            render_file(text, out, format)
        console.print(f"wrote {out}")
    elif out is not None:
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(out, text if isinstance(text, str) else str(text), "the table")
        except OSError as exc:
            raise UserError(f"--out {out}: cannot write it ({exc.strerror or exc})") from None
        console.print(f"wrote {out}")
    else:
        console.print(text, markup=False, highlight=False)


def _open_store(uri: str) -> None:
    from merbench.experiment.preflight import open_tracking

    open_tracking(uri)


def _chosen_runs(
    uri: str,
    datasets: list[str] | None,
    grid: str | None,
    rows: list[str] | None = None,
    exclude: list[str] | None = None,
    complete_only: bool = False,
):
    """(the finished runs of the store's chosen rows, named; the grid spec with those rows).

    Restricted to `datasets`; with `grid`, to its rows (`merbench.report.rows`). Runs without
    merbench's identity tags are left out with one note; no run left is a UserError."""
    from merbench.experiment import tracking
    from merbench.experiment.recipes import load_grid
    from merbench.experiment.rowrecord import recorded_labels, recorded_rows
    from merbench.report.aggregate import finished_runs
    from merbench.report.rows import identified, ignored_note, select_rows

    spec = {**load_grid(grid), "name": Path(grid).stem} if grid else None
    runs, ignored = identified(tracking.load_runs(uri))
    if ignored:
        err_console.print(f"note: {ignored_note(ignored)}", markup=False, highlight=False)
    if datasets:
        runs = runs[runs["dataset"].isin(datasets)]
    members = recorded_rows(uri, spec["name"]) if spec else None
    if not runs.empty:
        runs = finished_runs(runs, grid=spec, members=members, labels=recorded_labels(uri))
    if runs.empty:
        raise UserError(
            f"no finished runs in {uri} for the requested dataset(s)/grid; run some first"
        )
    return select_rows(
        runs, rows=rows or (), exclude=exclude or (), complete_only=complete_only, grid=spec
    )


@app.command()
def plot(
    dataset: Annotated[list[str] | None, typer.Option(help="Dataset(s) to plot.")] = None,
    grid: Annotated[str | None, typer.Option(help="Only the rows of this grid.")] = None,
    out: Annotated[Path, typer.Option(help="Folder for the PNG files.")] = Path("results/plots"),
    reference: Annotated[str | None, typer.Option(help="Row compared against.")] = None,
    tsne: Annotated[bool, typer.Option(help="t-SNE of fused test representations.")] = True,
    kind: Annotated[
        PlotKind,
        choice(
            "--kind",
            PlotKind,
            help="figures (confusion matrices, t-SNE, forest plot), cd (critical-difference "
            "diagram: Friedman + Nemenyi over dataset x split blocks) or all.",
        ),
    ] = "figures",
    metric: Annotated[
        str | None, typer.Option(help="Metric to rank or compare (default: the first headline).")
    ] = None,
    alpha: Annotated[float, typer.Option(help="Significance level of the CD diagram.")] = 0.05,
    rows: Rows = None,
    exclude: Exclude = None,
    complete_only: CompleteOnly = False,
    tracking_uri: TrackingUri = None,
) -> None:
    """Confusion matrices, t-SNE of fused representations, forest plot of the comparisons, and
    the critical-difference diagram of the configurations (--kind cd)."""
    from merbench.experiment import tracking

    uri = tracking.resolve_uri(tracking_uri)
    _open_store(uri)
    runs, grid_spec = _chosen_runs(uri, dataset, grid, rows, exclude, complete_only)
    if kind in ("figures", "all"):
        from merbench.report.plots import plot_files

        paths = plot_files(
            runs,
            out_dir=out,
            datasets=dataset,
            grid=grid_spec,
            predictions=lambda run_id: tracking.load_predictions(run_id, uri),
            reference=reference,
            metric=metric,
            embeddings=(lambda run_id: tracking.load_embeddings(run_id, uri)) if tsne else None,
        )
        for path in paths:
            console.print(str(path))
    if kind in ("cd", "all"):
        from merbench.report.cd import cd_summary, plot_cd_files

        order = [str(r["name"]) for r in grid_spec["rows"]] if grid_spec else None
        path, result = plot_cd_files(
            runs, out, rows=order, datasets=dataset, metric=metric, alpha=alpha,
            name=f"cd_{Path(grid).stem}" if grid else "cd",
        )  # fmt: skip
        console.print(cd_summary(result), markup=False, highlight=False)
        console.print(str(path))


@app.command()
def report(
    grid: Annotated[str, typer.Option(help="The grid to report (merbench list: grids).")],
    out: Annotated[Path, typer.Option(help="Folder for the page, its PDF and figures.")] = Path(
        "results/report"
    ),
    dataset: Annotated[list[str] | None, typer.Option(help="Only these dataset(s).")] = None,
    alpha: Annotated[float, typer.Option(help="Significance level.")] = 0.05,
    tsne: Annotated[bool, typer.Option(help="t-SNE of fused test representations.")] = True,
    rows: Rows = None,
    exclude: Exclude = None,
    complete_only: CompleteOnly = False,
    tracking_uri: TrackingUri = None,
) -> None:
    """One self-contained HTML page (and a PDF with pdflatex) for a grid: the table with its
    caption, the tests behind its marks, every figure, the loss balance and the environment."""
    from merbench.experiment import tracking
    from merbench.report.html import write_report

    uri = tracking.resolve_uri(tracking_uri)
    _open_store(uri)
    runs, grid_spec = _chosen_runs(uri, dataset, grid, rows, exclude, complete_only)
    frame = tracking.search(uri, "attributes.status = 'FINISHED'")
    frame = frame[frame["run_id"].isin(set(runs["run_id"]))]
    tags = pd_tags(frame, ("version", "git_commit", "device"))
    mlflow_client = tracking.client(uri)

    def history(run_id: str, key: str) -> list[tuple[int, float]]:
        return [(m.step, m.value) for m in mlflow_client.get_metric_history(run_id, key)]

    with console.status(f"writing the report of {grid}"):
        written = write_report(
            runs, grid=grid_spec, out_dir=out,
            predictions=lambda run_id: tracking.load_predictions(run_id, uri),
            embeddings=(lambda run_id: tracking.load_embeddings(run_id, uri)) if tsne else None,
            history=history, tags=tags, alpha=alpha,
        )  # fmt: skip
    for note in written.notes:
        err_console.print(f"note: {note}", markup=False, highlight=False)
    console.print(f"wrote {written.html} ({len(written.figures)} figures)")
    if written.pdf is not None:
        console.print(f"wrote {written.pdf}")


def pd_tags(frame, names: tuple[str, ...]):
    """The merbench tags `names` of MLflow's search frame as columns of their own."""
    import pandas as pd

    return pd.DataFrame({n: frame.get(f"tags.merbench.{n}", pd.Series(dtype=str)) for n in names})


@app.command()
def ui(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0: any free port).")] = 5000,
    tracking_uri: TrackingUri = None,
) -> None:
    """The MLflow UI on 127.0.0.1 for the project's store (one worker); Ctrl-C stops it."""
    from merbench.experiment import tracking
    from merbench.report.ui import serve

    serve(
        store=tracking.resolve_uri(tracking_uri),
        port=port,
        on_ready=lambda url: console.print(f"MLflow UI: {url} (Ctrl-C stops it)"),
    )

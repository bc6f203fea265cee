"""The `merbench` command line: thin Typer commands that parse, call one layer, print with rich.

Nothing heavy is imported at module level (torch, transformers, mlflow, the plugins): `merbench
--help` stays fast. Errors a user can cause (`UserError`) end the command with one line on stderr
naming the culprit and exit status 2.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from merbench.cli import sweep  # noqa: F401  (registers run and ablate first, as in --help)
from merbench.cli.app import (
    CacheDir,
    DataRoot,
    DatasetOption,
    Device,
    Plugin,
    TrackingUri,
    _load_plugins,
    app,
    console,
    datasets_app,
    encoding_progress,
    err_console,
    features_app,
    parse_pairs,
)
from merbench.errors import UserError

__all__ = ["app", "main"]


@app.callback()
def options(
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose", help="Show MLflow's and Alembic's INFO logging (silenced by default)."
        ),
    ] = False,
) -> None:
    """Options of every command (before the command's name: merbench --verbose table ...)."""
    if verbose:
        os.environ["MERBENCH_VERBOSE"] = "1"  # read by tracking.quiet_mlflow, here and in workers


# -- list ---------------------------------------------------------------------------------------
@app.command("list")
def list_plugins(
    kind: Annotated[
        str | None, typer.Argument(help="One axis (e.g. fusions); default all.")
    ] = None,
    filter: Annotated[str, typer.Option("--filter", help="Wildcard on names, e.g. 'hf*'.")] = "*",
    plugin: Plugin = None,
) -> None:
    """Every registered plugin, by kind, with its source package and config defaults."""
    from rich.table import Table

    from merbench.experiment.recipes import list_catalogue
    from merbench.registry import REGISTRIES, registry

    _load_plugins(plugin)
    kinds = [registry(kind).kind] if kind else list(REGISTRIES)
    table = Table(title="merbench plugins", show_lines=False)
    for col in ("kind", "name", "source", "config"):
        table.add_column(col, overflow="fold")
    for k in kinds:
        for entry in REGISTRIES[k].entries(filter):
            fields = ", ".join(f"{n}={v!r}" for n, v in entry.config_fields().items())
            name = entry.name + (f" ({', '.join(entry.aliases)})" if entry.aliases else "")
            table.add_row(k, name, entry.source, fields)
    console.print(table)
    if kind is None:
        console.print(f"recipes: {', '.join(list_catalogue('baselines'))}")
        console.print(f"grids: {', '.join(list_catalogue('grids'))}")


# -- table --------------------------------------------------------------------------------------
TABLE_FORMATS = ("terminal", "md", "latex", "csv", "pdf", "png")


@app.command()
def table(
    dataset: Annotated[list[str] | None, typer.Option(help="Dataset(s) to show.")] = None,
    grid: Annotated[str | None, typer.Option(help="Ablation layout of this grid.")] = None,
    format: Annotated[
        str,
        typer.Option(
            "--format",
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
        typer.Option(help="Significance test (default: by protocol; merbench list stat_tests)."),
    ] = None,
    alpha: Annotated[float, typer.Option(help="Significance level.")] = 0.05,
    reported: Annotated[bool, typer.Option(help="Show numbers papers report (marked).")] = True,
    slice: Annotated[
        str | None,
        typer.Option("--slice", help="Add metrics on a slice: inconsistent, consistent."),
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
    tracking_uri: TrackingUri = None,
) -> None:
    """Paper-style table of tracked runs: mean ± std over folds and seeds, significance marks."""
    from merbench.experiment import tracking
    from merbench.experiment.recipes import load_grid
    from merbench.report.render import render_table

    if format not in TABLE_FORMATS:  # before the store: nothing to read
        raise UserError(f"--format {format}: expected {', '.join(TABLE_FORMATS)}")
    compiled = format in ("pdf", "png")
    if compiled and out is None:
        raise UserError(f"--format {format} writes a file: give --out FILE.{format}")
    if compiled and balance:
        raise UserError(f"--balance has no --format {format}: use md or csv")
    if compiled:
        from merbench.report.latex import require_tools

        require_tools(format)  # one line before reading the store when pdflatex is missing
    uri = tracking.resolve_uri(tracking_uri)
    _open_store(uri)
    grid_spec = load_grid(grid) if grid else None
    runs = _finished_runs(uri, dataset, grid)
    if balance:
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
    if compiled:
        from merbench.report.latex import render_file

        render_file(text, out, format)
        console.print(f"wrote {out}")
    elif out is not None:
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text if isinstance(text, str) else str(text))
        except OSError as exc:
            raise UserError(f"--out {out}: cannot write it ({exc.strerror or exc})") from None
        console.print(f"wrote {out}")
    else:
        console.print(text, markup=False, highlight=False)


def _open_store(uri: str) -> None:
    from merbench.experiment.preflight import open_tracking

    open_tracking(uri)


def _finished_runs(uri: str, datasets: list[str] | None, grid: str | None):
    """Finished runs of the store, restricted to `datasets` and `grid`; none is a UserError."""
    from merbench.experiment import tracking

    runs = tracking.load_runs(uri)
    if grid:
        runs = runs[runs["grid"] == Path(grid).stem]
    if datasets:
        runs = runs[runs["dataset"].isin(datasets)]
    if runs.empty:
        raise UserError(
            f"no finished runs in {uri} for the requested dataset(s)/grid; run some first"
        )
    return runs


@app.command()
def plot(
    dataset: Annotated[list[str] | None, typer.Option(help="Dataset(s) to plot.")] = None,
    grid: Annotated[str | None, typer.Option(help="Only the rows of this grid.")] = None,
    out: Annotated[Path, typer.Option(help="Folder for the PNG files.")] = Path("results/plots"),
    reference: Annotated[str | None, typer.Option(help="Row compared against.")] = None,
    tsne: Annotated[bool, typer.Option(help="t-SNE of fused test representations.")] = True,
    kind: Annotated[
        str,
        typer.Option(
            help="figures (confusion matrices, t-SNE, forest plot), cd (critical-difference "
            "diagram: Friedman + Nemenyi over dataset x split blocks) or all."
        ),
    ] = "figures",
    metric: Annotated[
        str | None, typer.Option(help="Metric to rank or compare (default: the first headline).")
    ] = None,
    alpha: Annotated[float, typer.Option(help="Significance level of the CD diagram.")] = 0.05,
    tracking_uri: TrackingUri = None,
) -> None:
    """Confusion matrices, t-SNE of fused representations, forest plot of the comparisons, and
    the critical-difference diagram of the configurations (--kind cd)."""
    from merbench.experiment import tracking
    from merbench.experiment.recipes import load_grid

    if kind not in ("figures", "cd", "all"):
        raise UserError(f"--kind {kind}: expected figures, cd or all")
    uri = tracking.resolve_uri(tracking_uri)
    _open_store(uri)
    runs = _finished_runs(uri, dataset, grid)
    grid_spec = load_grid(grid) if grid else None
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

        rows = [str(r["name"]) for r in grid_spec["rows"]] if grid_spec else None
        path, result = plot_cd_files(
            runs, out, rows=rows, datasets=dataset, metric=metric, alpha=alpha,
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
    tracking_uri: TrackingUri = None,
) -> None:
    """One self-contained HTML page (and a PDF with pdflatex) for a grid: the table with its
    caption, the tests behind its marks, every figure, the loss balance and the environment."""
    from merbench.experiment import tracking
    from merbench.experiment.recipes import load_grid
    from merbench.report.html import write_report

    uri = tracking.resolve_uri(tracking_uri)
    _open_store(uri)
    runs = _finished_runs(uri, dataset, grid)
    frame = tracking.search(uri, "attributes.status = 'FINISHED'")
    frame = frame[frame["run_id"].isin(set(runs["run_id"]))]
    tags = pd_tags(frame, ("version", "git_commit", "device"))
    mlflow_client = tracking.client(uri)

    def history(run_id: str, key: str) -> list[tuple[int, float]]:
        return [(m.step, m.value) for m in mlflow_client.get_metric_history(run_id, key)]

    with console.status(f"writing the report of {grid}"):
        written = write_report(
            runs, grid={**load_grid(grid), "name": Path(grid).stem}, out_dir=out,
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


# -- features -------------------------------------------------------------------------------------
EncoderSpec = Annotated[
    str | None,
    typer.Option(help="Encoder plugin (merbench list encoders) or hf:<hub-name-or-folder>."),
]


@features_app.callback(invoke_without_command=True)
def features(
    ctx: typer.Context,
    dataset: Annotated[
        str | None, typer.Option(help="Dataset plugin to encode (merbench list datasets).")
    ] = None,
    data_root: DataRoot = None,
    dataset_options: DatasetOption = None,
    audio_encoder: EncoderSpec = None,
    text_encoder: EncoderSpec = None,
    device: Device = "auto",
    memory_mb: Annotated[
        float, typer.Option(help="Extraction memory budget in MB (padded batches + shard buffer).")
    ] = 2048,
    cache_dir: CacheDir = None,
    plugins: Plugin = None,
) -> None:
    """Encode a corpus ahead of time: merbench features --dataset D --audio-encoder A --text-encoder T."""
    ctx.obj = {"cache_dir": cache_dir}
    if ctx.invoked_subcommand is not None:
        return
    if dataset is None:
        raise UserError("features: give --dataset and an encoder, or a subcommand (ls, rm)")
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from merbench.device import resolve_device
    from merbench.experiment.plan import load_corpus
    from merbench.experiment.preflight import use_cache_root
    from merbench.experiment.sweep import asr_note, dataset_ref
    from merbench.features.manage import extract, open_store

    use_cache_root(cache_dir)
    _load_plugins(plugins)
    specs = [s for s in (audio_encoder, text_encoder) if s]
    if not specs:
        raise UserError("features: give --audio-encoder and/or --text-encoder")
    store = open_store(cache_dir, memory_mb=memory_mb)
    ref = dataset_ref(dataset, data_root, parse_pairs(dataset_options, "--dataset-option"))
    with console.status(f"loading {dataset}" + asr_note(ref)):
        corpus = load_corpus(ref, str(cache_dir.expanduser()) if cache_dir else None)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=console) as progress:
        bars: dict[str, int] = {}

        on_progress = encoding_progress(progress, bars)

        expect = {s: m for s, m in ((audio_encoder, "audio"), (text_encoder, "text")) if s}
        results = extract(
            corpus,
            specs,
            store,
            device=resolve_device(device),
            progress=on_progress,
            modalities=expect,
        )
    for spec, feats, passes in results:
        state = "cached" if passes == 0 else f"extracted ({passes} batches)"
        console.print(
            f"{dataset} / {spec}: {len(feats)} utterances, d={feats.dim}, "
            f"key {feats.key[:12]}, {state}"
        )


@features_app.command("ls")
def features_ls(ctx: typer.Context, cache_dir: CacheDir = None) -> None:
    """List the feature store's entries: key, corpus, encoder, count, size, date."""
    from rich.table import Table

    from merbench.features.manage import human_size, list_entries, open_store

    store = open_store(cache_dir or (ctx.obj or {}).get("cache_dir"))
    entries = list_entries(store)
    if not entries:
        console.print(f"no feature entries in {store.root}")
        return
    table = Table(title=str(store.root))
    for column in ("key", "corpus", "encoder", "count", "dim", "size", "created"):
        table.add_column(column, justify="right" if column in ("count", "dim", "size") else "left")
    for e in entries:
        table.add_row(
            e.key[:12],
            e.corpus,
            e.encoder,
            str(e.count),
            str(e.dim),
            human_size(e.size_bytes),
            e.created.replace("T", " ")[:16],
        )
    console.print(table)


@features_app.command("rm")
def features_rm(
    ctx: typer.Context,
    prefix: Annotated[str | None, typer.Argument(help="Key prefix of the entry to remove.")] = None,
    all_entries: Annotated[bool, typer.Option("--all", help="Remove every entry.")] = False,
    cache_dir: CacheDir = None,
) -> None:
    """Remove a feature-store entry by key prefix, or every entry with --all."""
    from merbench.features.manage import open_store, remove_entries

    store = open_store(cache_dir or (ctx.obj or {}).get("cache_dir"))
    removed = remove_entries(store, prefix, all=all_entries)
    console.print(
        f"removed {len(removed)} entr{'y' if len(removed) == 1 else 'ies'} from {store.root}"
    )


@datasets_app.command("check")
def datasets_check(
    path: Annotated[
        Path | None, typer.Argument(help="Corpus folder or manifest (default: $MERBENCH_DATA).")
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="Dataset plugin (default: detect; merbench list datasets).")
    ] = None,
    dataset_options: DatasetOption = None,
    decode: Annotated[bool, typer.Option(help="Decode every audio file (deep check).")] = True,
    plugins: Plugin = None,
) -> None:
    """Validate a corpus without training: counts, skipped utterances, unreadable media.

    Exit status 0 when clean, 1 when problems were found, 2 when the corpus cannot be loaded.
    """
    from rich.progress import Progress

    from merbench.data.check import check_corpus, render_check
    from merbench.experiment.sweep import data_root

    _load_plugins(plugins)
    root = data_root(path)
    options = parse_pairs(dataset_options, "--dataset-option")
    with Progress(console=err_console, transient=True) as progress:
        bar = progress.add_task("decoding audio", total=None)
        report = check_corpus(
            name,
            root,
            decode=decode,
            progress=lambda done, total: progress.update(bar, completed=done, total=total),
            **options,
        )
    console.print(render_check(report), highlight=False, markup=False, soft_wrap=True)
    if not report.ok:
        raise typer.Exit(2 if report.error else 1)


def main() -> None:
    """Entry point: run the Typer app; a UserError is one red line and exit status 2."""
    from merbench import env
    from merbench.cli import lean

    env.apply(env.OFFLINE, env.QUIET, env.THREADS)  # before anything imports torch
    if lean.wants_help(sys.argv):
        lean.import_rich_utils_lean()  # help without importing markdown-it and pygments
    try:
        app()
    except UserError as exc:
        from rich.markup import escape

        # escaped: a message naming "[train]" or "[V, A, D]" must not be read as rich markup
        err_console.print(
            f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True
        )
        sys.exit(2)
    except KeyboardInterrupt:
        err_console.print("interrupted: unfinished runs are marked failed and redone next time")
        sys.exit(130)


if __name__ == "__main__":
    main()

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
from rich.console import Console
from rich.markup import escape

from merbench.errors import UserError

app = typer.Typer(
    help="Benchmark harness for multimodal (speech + text) emotion recognition.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
features_app = typer.Typer(help="Manage the feature store (encode a corpus once, reuse it).")
datasets_app = typer.Typer(help="Inspect and validate corpora.", no_args_is_help=True)
app.add_typer(features_app, name="features")
app.add_typer(datasets_app, name="datasets")

console = Console(soft_wrap=True)  # messages are never broken mid-line (grep-able logs)
err_console = Console(stderr=True, soft_wrap=True)

# -- options shared by several commands -----------------------------------------------------
Plugin = Annotated[
    list[str] | None,
    typer.Option("--plugin", help="Import MODULE first (its decorators register plugins)."),
]
TrackingUri = Annotated[
    str | None,
    typer.Option(
        help="MLflow store (default: $MLFLOW_TRACKING_URI or sqlite:///results/mlflow.db)."
    ),
]
CacheDir = Annotated[
    Path | None, typer.Option(help="Cache root (default: $MERBENCH_CACHE or ~/.cache/merbench).")
]
Dataset = Annotated[str, typer.Option(help="Dataset plugin: synth, iemocap, meld, m3ed, manifest.")]
DataRoot = Annotated[
    Path | None,
    typer.Option(help="Corpus folder in its distributed layout (default: $MERBENCH_DATA)."),
]
DatasetOption = Annotated[
    list[str] | None,
    typer.Option("--dataset-option", help="Loader option KEY=VALUE (e.g. classes=6)."),
]
Seeds = Annotated[str, typer.Option(help="Seed count (3 = 0,1,2) or list (0,1,2).")]
Device = Annotated[str, typer.Option(help="auto (GPU when present), cpu, cuda or cuda:N.")]
Executor = Annotated[str, typer.Option(help="Where runs execute: local, ray, submitit.")]
ExecutorOption = Annotated[
    list[str] | None,
    typer.Option("--executor-option", help="Executor option KEY=VALUE (e.g. partition=gpu)."),
]
Sets = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override ROLE.KEY=VALUE (e.g. fusion.layers=2, train.lr=1e-4)."),
]

Variant = Annotated[str | None, typer.Option(help="paper or code.")]
Splits = Annotated[list[str] | None, typer.Option("--split", help="Only these splits.")]
ShowTable = Annotated[bool, typer.Option(help="Print the table at the end.")]


def parse_pairs(items: list[str] | None, flag: str) -> dict[str, str]:
    """``["a=1", "b.c=x"]`` -> ``{"a": "1", "b.c": "x"}``; a malformed item is a UserError."""
    out: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UserError(f"{flag} {item!r}: expected KEY=VALUE")
        out[key.strip()] = value.strip()
    return out


def _load_plugins(plugins: list[str] | None) -> tuple[str, ...]:
    from merbench.registry import load_plugin_modules

    modules = tuple(plugins or ())
    load_plugin_modules(modules)
    return modules


def _data_root(root: Path | None) -> str | None:
    if root is not None:
        if not root.expanduser().exists():
            raise UserError(f"--data-root {root}: no such folder")
        return str(root.expanduser())
    return os.environ.get("MERBENCH_DATA")


# -- run / ablate -------------------------------------------------------------------------------
def _benchmark(
    *,
    recipe: str | None,
    grid: str | None,
    overrides: dict[str, str],
    variant: str | None,
    dataset: str,
    data_root: Path | None,
    dataset_options: list[str] | None,
    seeds: str,
    splits: list[str] | None,
    device: str,
    executor: str,
    executor_options: list[str] | None,
    tracking_uri: str | None,
    cache_dir: Path | None,
    plugins: list[str] | None,
    show_table: bool,
) -> None:
    """Shared body of `run` and `ablate`: plan, prepare features, sweep, print the table."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from merbench.device import resolve_device
    from merbench.experiment import preflight, runner, tracking
    from merbench.experiment.recipes import configurations
    from merbench.registry import EXECUTORS

    preflight.use_cache_root(cache_dir)
    seed_list = runner.parse_seeds(seeds)
    modules = _load_plugins(plugins)
    confs = configurations(recipe=recipe, grid=grid, overrides=overrides, variant=variant)
    for conf in confs:
        for note in conf.notes:
            err_console.print(f"[yellow]note[/]: {conf.name}: {note}")
    ex = EXECUTORS.build(executor, **parse_pairs(executor_options, "--executor-option"))
    device = resolve_device(device)
    ref = runner.DatasetRef(
        dataset,
        _data_root(data_root),
        tuple(sorted(parse_pairs(dataset_options, "--dataset-option").items())),
    )
    uri = tracking.resolve_uri(tracking_uri)
    cache = str(cache_dir.expanduser()) if cache_dir else None
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with console.status(f"loading {dataset}"):
        corpus = runner.load_corpus(ref)
    preflight.check_plan(confs, corpus, tuple(splits or ()))
    preflight.open_tracking(uri)  # after the cheap checks: a bad option creates no store
    if corpus.skipped:
        err_console.print(
            f"[yellow]note[/]: {dataset}: {len(corpus.skipped)} utterances skipped "
            f"(first: {corpus.skipped[0].id}: {corpus.skipped[0].reason}); "
            f"see `merbench datasets check`"
        )
    with Progress(*columns, console=console, transient=True) as progress:
        bars: dict[str, int] = {}

        def on_progress(label: str, done: int, total: int) -> None:
            if label not in bars:
                bars[label] = progress.add_task(f"encoding {label}", total=total)
            progress.update(bars[label], completed=done)

        encoders = {(m, c.config["encoders"][m]) for c in confs for m in ("audio", "text")}
        on_missing = dict(ref.options).get("on_missing", "skip")
        unreadable = runner.prepare_features(
            corpus, encoders, cache, device, on_progress, on_missing
        )
    if unreadable:
        first_id, reason = next(iter(unreadable.items()))
        err_console.print(
            f"[yellow]note[/]: {dataset}: {len(unreadable)} utterances with unreadable media "
            f"skipped (first: {first_id}: {reason})"
        )
    tasks = runner.plan(
        confs,
        ref,
        corpus,
        seed_list,
        splits=tuple(splits or ()),
        device=device,
        tracking_uri=uri,
        cache_dir=cache,
        plugins=modules,
    )
    todo, done = runner.pending(tasks, uri)
    console.print(
        f"{len(tasks)} runs ({len(confs)} configuration(s) x {len(tasks) // max(len(confs), 1)} "
        f"split-seed units) on {dataset}, device {device}: {len(done)} already finished, "
        f"{len(todo)} to run"
    )
    failed = []
    with Progress(*columns, console=console) as progress:
        bar = progress.add_task("training", total=len(todo))
        for outcome in runner.sweep(todo, ex):
            progress.advance(bar)
            t = outcome.task
            if outcome.status == "FAILED":
                failed.append(outcome)
                progress.console.print(
                    f"[red]FAILED[/] {t.name} {t.split} seed {t.seed}: {outcome.error}"
                )
            elif outcome.status == "SKIPPED":
                progress.console.print(f"skipped {t.name} {t.split} seed {t.seed}: {outcome.error}")
            else:
                first = [k for k in outcome.metrics if k.startswith("test/")][:3]
                shown = ", ".join(f"{k[5:]} {outcome.metrics[k]:.3f}" for k in first)
                progress.console.print(
                    f"{t.name} {t.split} seed {t.seed}: {shown} ({outcome.seconds:.1f}s)"
                )
                if outcome.warning:
                    progress.console.print(
                        f"[yellow]warning[/]: {t.name} {t.split} seed {t.seed}: {escape(outcome.warning)}",
                        markup=True,
                        highlight=False,
                    )
    if show_table:
        _print_table(uri, dataset, grid, tasks)
    if failed:
        raise UserError(f"{len(failed)} of {len(todo)} runs failed (first: {failed[0].error})")


def _print_table(uri: str, dataset: str, grid: str | None, tasks: list) -> None:
    from merbench.experiment import tracking
    from merbench.report.render import render_table

    runs = tracking.load_runs(uri, dataset=dataset)
    keys = {t.config_key for t in tasks}
    runs = runs[runs["config_key"].isin(keys)]
    if runs.empty:
        return
    grid_spec = None
    if grid:
        from merbench.experiment.recipes import load_grid

        grid_spec = load_grid(grid)
    text = render_table(
        runs,
        datasets=[dataset],
        grid=grid_spec,
        fmt="terminal",
        predictions=lambda run_id: tracking.load_predictions(run_id, uri),
    )
    console.print(text, markup=False, highlight=False)


@app.command()
def run(
    recipe: Annotated[
        str | None,
        typer.Option(
            "--baseline", "--recipe", help="Recipe in registry/baselines (or a TOML path)."
        ),
    ] = None,
    augmentation: Annotated[str | None, typer.Option(help="none, cmie or pcmi.")] = None,
    fusion: Annotated[str | None, typer.Option(help="self, cross, concat, ...")] = None,
    ed: Annotated[str | None, typer.Option(help="Emotion-discrimination head: on or off.")] = None,
    variant: Variant = None,
    sets: Sets = None,
    dataset: Dataset = "synth",
    data_root: DataRoot = None,
    dataset_option: DatasetOption = None,
    seeds: Seeds = "1",
    split: Splits = None,
    device: Device = "auto",
    executor: Executor = "local",
    executor_option: ExecutorOption = None,
    tracking_uri: TrackingUri = None,
    cache_dir: CacheDir = None,
    plugin: Plugin = None,
    table: ShowTable = True,
) -> None:
    """Benchmark one configuration over every split of a dataset and every seed.

    With no options: the default recipe `concat` (early fusion of eGeMAPS and MiniLM) on the
    embedded corpus `synth`, then the table. Axis flags (--augmentation, --fusion, --ed) without
    --baseline start from the `drkf` recipe.
    """
    overrides = _axis_overrides(augmentation, fusion, ed, sets)
    if recipe is None and overrides.keys() & AXIS_KEYS:
        recipe = "drkf"  # axis flags without a recipe: DRKF's components, as the paper's ablations
    _benchmark(
        recipe=recipe,
        grid=None,
        overrides=overrides,
        variant=_check_variant(variant),
        dataset=dataset,
        data_root=data_root,
        dataset_options=dataset_option,
        seeds=seeds,
        splits=split,
        device=device,
        executor=executor,
        executor_options=executor_option,
        tracking_uri=tracking_uri,
        cache_dir=cache_dir,
        plugins=plugin,
        show_table=table,
    )


AXIS_KEYS = {"augmentation.name", "fusion.name", "model_options.ed"}


def _check_variant(variant: str | None) -> str | None:
    if variant not in (None, "paper", "code"):
        raise UserError(f"--variant {variant}: expected paper or code")
    return variant


def _axis_overrides(
    augmentation: str | None, fusion: str | None, ed: str | None, sets: list[str] | None
) -> dict[str, object]:
    overrides: dict[str, object] = {}
    if augmentation is not None:
        overrides["augmentation.name"] = augmentation
    if fusion is not None:
        overrides["fusion.name"] = fusion
    if ed is not None:
        if ed not in ("on", "off"):
            raise UserError(f"--ed {ed}: expected on or off")
        overrides["model_options.ed"] = ed == "on"
    overrides.update(parse_pairs(sets, "--set"))
    return overrides


@app.command()
def ablate(
    grid: Annotated[
        str, typer.Option(help="Grid in registry/grids (or a TOML path).")
    ] = "drkf-table4",
    variant: Variant = None,
    sets: Sets = None,
    dataset: Dataset = "synth",
    data_root: DataRoot = None,
    dataset_option: DatasetOption = None,
    seeds: Seeds = "1",
    split: Splits = None,
    device: Device = "auto",
    executor: Executor = "local",
    executor_option: ExecutorOption = None,
    tracking_uri: TrackingUri = None,
    cache_dir: CacheDir = None,
    plugin: Plugin = None,
    table: ShowTable = True,
) -> None:
    """Run every row of an ablation grid (default: the DRKF paper's Table 4) over every split."""
    _benchmark(
        recipe=None,
        grid=grid,
        overrides=parse_pairs(sets, "--set"),
        variant=_check_variant(variant),
        dataset=dataset,
        data_root=data_root,
        dataset_options=dataset_option,
        seeds=seeds,
        splits=split,
        device=device,
        executor=executor,
        executor_options=executor_option,
        tracking_uri=tracking_uri,
        cache_dir=cache_dir,
        plugins=plugin,
        show_table=table,
    )


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
@app.command()
def table(
    dataset: Annotated[list[str] | None, typer.Option(help="Dataset(s) to show.")] = None,
    grid: Annotated[str | None, typer.Option(help="Ablation layout of this grid.")] = None,
    format: Annotated[
        str, typer.Option("--format", help="terminal, md, latex or csv.")
    ] = "terminal",
    out: Annotated[Path | None, typer.Option(help="Write to FILE instead of printing.")] = None,
    reference: Annotated[
        str | None, typer.Option(help="Row compared against (default: best).")
    ] = None,
    test: Annotated[
        str | None, typer.Option(help="Significance test (default: by protocol).")
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

    if format not in ("terminal", "md", "latex", "csv"):
        raise UserError(f"--format {format}: expected terminal, md, latex or csv")
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
            fmt=format,
            reference=reference,
            test=test,
            alpha=alpha,
            predictions=lambda run_id: tracking.load_predictions(run_id, uri),
            reported=reported,
            details=details,
            **({"slice": slice} if slice else {}),
        )
    if out is not None:
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
    tracking_uri: TrackingUri = None,
) -> None:
    """Confusion matrices, t-SNE of fused representations, forest plot of the comparisons."""
    from merbench.experiment import tracking
    from merbench.experiment.recipes import load_grid
    from merbench.report.plots import plot_files

    uri = tracking.resolve_uri(tracking_uri)
    _open_store(uri)
    paths = plot_files(
        _finished_runs(uri, dataset, grid),
        out_dir=out,
        datasets=dataset,
        grid=load_grid(grid) if grid else None,
        predictions=lambda run_id: tracking.load_predictions(run_id, uri),
        reference=reference,
        embeddings=(lambda run_id: tracking.load_embeddings(run_id, uri)) if tsne else None,
    )
    for path in paths:
        console.print(str(path))


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
    typer.Option(help="Encoder: egemaps, compare, logmel, minilm, or hf:<hub-name-or-folder>."),
]


@features_app.callback(invoke_without_command=True)
def features(
    ctx: typer.Context,
    dataset: Annotated[str | None, typer.Option(help="Dataset plugin to encode.")] = None,
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
    from merbench.experiment import runner
    from merbench.experiment.preflight import use_cache_root
    from merbench.features.manage import extract, open_store

    use_cache_root(cache_dir)
    _load_plugins(plugins)
    specs = [s for s in (audio_encoder, text_encoder) if s]
    if not specs:
        raise UserError("features: give --audio-encoder and/or --text-encoder")
    store = open_store(cache_dir, memory_mb=memory_mb)
    ref = runner.DatasetRef(
        dataset,
        _data_root(data_root),
        tuple(sorted(parse_pairs(dataset_options, "--dataset-option").items())),
    )
    with console.status(f"loading {dataset}"):
        corpus = runner.load_corpus(ref)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=console) as progress:
        bars: dict[str, int] = {}

        def on_progress(spec: str, done: int, total: int) -> None:
            if spec not in bars:
                bars[spec] = progress.add_task(f"encoding {spec}", total=total)
            progress.update(bars[spec], completed=done)

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
        str | None, typer.Option(help="iemocap, meld, m3ed, manifest, synth (default: detect).")
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

    _load_plugins(plugins)
    root = _data_root(path)
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
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
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

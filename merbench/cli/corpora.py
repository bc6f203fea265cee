"""`merbench features` (encode a corpus ahead of time; ls, rm the feature store) and `merbench
datasets check` (validate a corpus without training); this module parses and prints."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from merbench.cli.app import (
    CacheDir,
    DataRoot,
    DatasetOption,
    Device,
    Plugin,
    _load_plugins,
    console,
    datasets_app,
    encoding_progress,
    err_console,
    features_app,
    parse_pairs,
)
from merbench.errors import UserError

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

    _load_plugins(plugins)
    root = _check_target(path)
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


def _check_target(path: Path | None) -> str | None:
    """The folder or manifest `datasets check` reads: its PATH argument (which must exist), else
    ``$MERBENCH_DATA``, else None."""
    if path is None:
        return os.environ.get("MERBENCH_DATA")
    if not path.expanduser().exists():
        raise UserError(f"{path}: no such file or folder (the PATH argument of datasets check)")
    return str(path.expanduser())

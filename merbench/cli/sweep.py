"""`merbench run` and `merbench ablate`: the options they share, declared once as `Annotated`
aliases (`merbench.cli.app`) and mapped into one `SweepOptions` by `sweep_options`; then the
experiment layer's `plan_sweep` / `execute_sweep`. This module parses and prints.

No ``from __future__ import annotations`` here: the commands' annotations are objects once, at
import, rather than strings Typer evaluates each time it builds the commands (every ``--help``)."""

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.markup import escape

from merbench.cli.app import (
    CacheDir,
    Device,
    DryRun,
    Executor,
    ExecutorOption,
    Finetune,
    Perturb,
    Plugin,
    Precision,
    Seeds,
    Sets,
    ShowTable,
    Splits,
    TrackingUri,
    Variant,
    app,
    choice,
    console,
    encoding_progress,
    err_console,
    parse_pairs,
)
from merbench.errors import UserError

if TYPE_CHECKING:
    from merbench.experiment.sweep import SweepOptions

Jobs = Annotated[
    int,
    typer.Option(
        help="Runs at once on this machine (local executor), in worker processes, threads "
        "divided among them; GPUs round-robin when there are several."
    ),
]
TrainOn = Annotated[
    str,
    typer.Option(
        "--dataset",
        "--train-on",
        help="Dataset plugin (merbench list datasets); with --test-on, the corpus to train and "
        "select on.",
    ),
]
TestOn = Annotated[
    list[str] | None,
    typer.Option(
        "--test-on",
        metavar="DATASET",
        help="Test on all of DATASET what was trained on --train-on (repeatable; labels meet on "
        "the emotions both corpora share, as their dataset cards map them). The training corpus "
        "itself here adds its ordinary in-corpus runs.",
    ),
]
DataRoots = Annotated[
    list[str] | None,
    typer.Option(
        "--data-root",
        metavar="PATH|NAME=PATH",
        help="Corpus folder in its distributed layout (default: $MERBENCH_DATA); with --test-on, "
        "NAME=PATH for each corpus that has one.",
    ),
]
SweepDatasetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--dataset-option",
        metavar="[NAME:]KEY=VALUE",
        help="Loader option KEY=VALUE (e.g. classes=6); text=gold|asr|asr:MODEL picks the text; "
        "NAME:KEY=VALUE for corpus NAME only (with --test-on).",
    ),
]
Name = Annotated[
    str | None,
    typer.Option(
        "--name",
        metavar="LABEL",
        help="Name the configuration LABEL in tables (a grid's rows: 'LABEL: <row>'); a tag, "
        "not part of the run key.",
    ),
]


def sweep_options(
    *,
    recipe: str | None,
    grid: str | None,
    overrides: Mapping[str, object],
    name: str | None,
    variant: str | None,
    finetune: bool,
    dataset: str,
    data_root: list[str] | Path | None,
    dataset_option: list[str] | None,
    seeds: str,
    split: list[str] | None,
    device: str,
    precision: str | None,
    executor: str,
    executor_option: list[str] | None,
    jobs: int,
    tracking_uri: str | None,
    cache_dir: Path | None,
    plugin: list[str] | None,
    test_on: list[str] | None = None,
) -> "SweepOptions":
    """The `SweepOptions` of the command line options `run` and `ablate` share (named as their
    parameters); `recipe` / `grid` and the ``ROLE.KEY`` `overrides` come from each command.
    ``--precision`` is the override ``train.precision``; a malformed ``KEY=VALUE`` or seed list
    is a UserError. `test_on` makes it a cross-corpus sweep (`merbench.experiment.crosscorpus`:
    ``--data-root NAME=PATH``, ``--dataset-option NAME:KEY=VALUE``)."""
    from merbench.experiment.crosscorpus import corpus_refs
    from merbench.experiment.plan import parse_seeds
    from merbench.experiment.sweep import SweepOptions

    if precision is not None:
        overrides = {**overrides, "train.precision": precision}
    roots = [str(data_root)] if isinstance(data_root, (str, Path)) else list(data_root or [])
    train, tests = corpus_refs(
        dataset, test_on or [], roots, parse_pairs(dataset_option, "--dataset-option")
    )
    return SweepOptions(
        recipe=recipe,
        grid=grid,
        overrides=tuple(overrides.items()),
        variant=variant,
        datasets=(train,),
        test_on=tests,
        seeds=parse_seeds(seeds),
        splits=tuple(split or ()),
        device=device,
        executor=executor,
        executor_options=tuple(parse_pairs(executor_option, "--executor-option").items()),
        jobs=jobs,
        tracking_uri=tracking_uri,
        cache_dir=str(cache_dir.expanduser()) if cache_dir else None,
        plugins=tuple(plugin or ()),
        finetune=finetune,
        label=(name or "").strip(),
    )


def _sweep(
    options: "SweepOptions",
    *,
    table: bool,
    dry_run: bool,
    notes: Sequence[str] = (),
    perturb: list[str] | None = None,
) -> None:
    """Shared body of `run` and `ablate`: plan `options`, execute, evaluate the ``--perturb``
    conditions (`merbench.cli.perturb`), print. `notes` are printed with the plan's own, once it
    is made (a plan refused prints only its error line)."""
    from merbench.cli.perturb import evaluate_conditions, lacking_weights
    from merbench.experiment.conditions import parse_perturb
    from merbench.experiment.evaluate import check_evaluable
    from merbench.experiment.sweep import asr_note, describe, plan_sweep

    conditions = parse_perturb(perturb)
    if conditions and options.test_on:
        raise UserError("--perturb with --test-on: test-time conditions run on in-corpus runs only")
    with console.status(f"loading {options.datasets[0].name}" + asr_note(options.datasets[0])):
        sweep = plan_sweep(options, start_workers=not dry_run)
    check_evaluable(sweep.tasks, conditions)
    for note in [*notes, *sweep.notes]:
        _note(note)
    if dry_run:
        for line in describe(sweep):
            console.print(line, markup=False, highlight=False)
        if conditions:
            listed = ", ".join(c.label for c in conditions)
            console.print(f"then evaluated under {listed}", markup=False, highlight=False)
        return
    console.print(sweep.summary(), highlight=False)
    outcomes = _execute(sweep)
    lacking = evaluate_conditions(sweep.tasks, conditions)
    if table:
        names = list(dict.fromkeys(t.dataset.name for t in sweep.tasks))
        _print_table(
            sweep.tracking_uri, names, options.grid, sweep.tasks, bool(options.test_on), conditions
        )
    lacking_weights(lacking)
    failed = [o for o in outcomes if o.status == "FAILED"]
    if failed:
        raise UserError(
            f"{len(failed)} of {len(sweep.to_run)} runs failed (first: {failed[0].error})"
        )
    _check_held_elsewhere(sweep, outcomes)


def _note(text: str) -> None:
    err_console.print(f"[yellow]note[/]: {escape(text)}", highlight=False)


def _check_held_elsewhere(sweep: Any, outcomes: list[Any]) -> None:
    """Wait for the runs skipped because another process held them, and say so; a UserError
    when this store still lacks any of them once that process let them go."""
    from merbench.experiment.claims import describe_holder
    from merbench.experiment.sweep import held_elsewhere

    def waiting(count: int, record: dict[str, Any]) -> None:
        err_console.print(
            f"[yellow]note[/]: waiting for {count} runs another process is training "
            f"(first: {describe_holder(record)})",
            highlight=False,
        )

    skipped = [o for o in outcomes if o.status == "SKIPPED"]
    lacking = held_elsewhere(sweep, skipped, on_wait=waiting)
    if len(skipped) > len(lacking):
        err_console.print(
            f"[yellow]note[/]: {len(skipped) - len(lacking)} runs were trained by another "
            "process into this store meanwhile",
            highlight=False,
        )
    if lacking:
        t = lacking[0].task
        raise UserError(
            f"{len(lacking)} runs were skipped because another process held them, and it did not "
            f"finish them in this store ({sweep.tracking_uri}; first: {t.name} {t.split} seed "
            f"{t.seed}, {lacking[0].error}); run the command again to train them"
        )


def _execute(sweep: Any) -> list[Any]:
    """Fill the feature store (a bar per encoder), then run `sweep` with the live grid view in a
    terminal (`merbench.report.live`), plain lines otherwise; return the outcomes."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from merbench.experiment.sweep import prepare_sweep, run_sweep, runs_at_once, unreadable_notes
    from merbench.report.live import GridView

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    try:
        with Progress(*columns, TimeElapsedColumn(), console=console, transient=True) as progress:
            prepare_sweep(sweep, encoding_progress(progress, {}))
    except BaseException:
        if sweep.executor is not None:
            sweep.executor.close(kill=True)  # no worker left warming up for runs that never come
        raise
    for note in unreadable_notes(sweep):
        _note(note)
    runs, threads = runs_at_once(sweep)
    finished = {t.run_key for t in sweep.of("finished")}
    view = GridView(sweep.tasks, finished, runs)
    if sweep.to_run:
        console.print(f"training {len(sweep.to_run)} runs: {_parallelism(runs, threads)}",
                      highlight=False)  # fmt: skip
    outcomes: list[Any] = []
    if console.is_terminal and sweep.to_run:
        from rich.live import Live

        with Live(view, console=console, refresh_per_second=2) as live:
            for outcome in run_sweep(sweep, view.start):
                _report(live.console, view.finish(outcome), outcome, outcomes)
    else:
        for outcome in run_sweep(sweep, lambda task: _plain(view.start(task))):
            _report(console, view.finish(outcome), outcome, outcomes)
    return outcomes


def _parallelism(runs: int, threads: int) -> str:
    if not threads:
        return "on the executor's workers"
    return f"{runs} at once, {threads} thread{'s' if threads > 1 else ''} each"


def _plain(line: str) -> None:
    console.print(line, markup=False, highlight=False)


def _report(out: Any, line: str, outcome: Any, outcomes: list[Any]) -> None:
    """Print an outcome's line (a failure in red) and its warning; collect the outcomes."""
    outcomes.append(outcome)
    if outcome.status == "FAILED":
        out.print(f"[red]{escape(line)}[/]", highlight=False)
    else:
        out.print(line, markup=False, highlight=False)
    if outcome.warning:
        t = outcome.task
        out.print(
            f"[yellow]warning[/]: {t.name} {t.split} seed {t.seed}: {escape(outcome.warning)}",
            highlight=False,
        )


def _print_table(
    uri: str,
    datasets: list[str],
    grid: str | None,
    tasks: list,
    matrix: bool = False,
    conditions: tuple = (),
) -> None:
    """The table of `tasks`' runs; with `matrix` (a cross-corpus sweep), its matrix after it;
    with `conditions` (``--perturb``), their table under them."""
    from merbench.experiment import tracking
    from merbench.experiment.recipes import load_grid
    from merbench.report.aggregate import finished_runs
    from merbench.report.render import render_table

    runs = tracking.load_runs(uri)
    runs = runs[runs["config_key"].isin({t.config_key for t in tasks})]
    if runs.empty:
        return
    spec = {**load_grid(grid), "name": tasks[0].grid} if grid else None
    members = {t.config_key: t.name for t in tasks} if grid else None
    labels = {t.config_key: t.label for t in tasks if t.label}
    named = finished_runs(runs, grid=spec, members=members, labels=labels)
    text = render_table(
        named,
        datasets=datasets,
        grid=spec,
        fmt="terminal",
        predictions=lambda run_id: tracking.load_predictions(run_id, uri),
    )
    console.print(text, markup=False, highlight=False)
    if matrix:
        from merbench.report.crosscorpus import render_matrix

        text = render_matrix(
            named, predictions=lambda run_id: tracking.load_predictions(run_id, uri)
        )
        console.print(text, markup=False, highlight=False)
    if conditions:
        from merbench.cli.perturb import conditions_text

        shown = conditions_text(uri, named, conditions, grid=spec)
        console.print(shown, markup=False, highlight=False)


OnOff = Literal["on", "off"]
#: the override each axis flag of `run` sets
AXIS_FLAGS = {
    "augmentation.name": "--augmentation",
    "fusion.name": "--fusion",
    "model_options.ed": "--ed",
}


@app.command()
def run(
    recipe: Annotated[
        str | None,
        typer.Option(
            "--baseline", "--recipe", help="Recipe in registry/baselines (or a TOML path)."
        ),
    ] = None,
    augmentation: Annotated[
        str | None, typer.Option(help="Augmentation plugin (merbench list augmentations).")
    ] = None,
    fusion: Annotated[
        str | None, typer.Option(help="Fusion plugin (merbench list fusions).")
    ] = None,
    ed: Annotated[
        OnOff | None, choice("--ed", OnOff, help="Emotion-discrimination head: on or off.")
    ] = None,
    name: Name = None,
    variant: Variant = None,
    finetune: Finetune = False,
    sets: Sets = None,
    dataset: TrainOn = "synth",
    test_on: TestOn = None,
    data_root: DataRoots = None,
    dataset_option: SweepDatasetOption = None,
    seeds: Seeds = "1",
    split: Splits = None,
    device: Device = "auto",
    precision: Precision = None,
    executor: Executor = "local",
    executor_option: ExecutorOption = None,
    jobs: Jobs = 1,
    tracking_uri: TrackingUri = None,
    cache_dir: CacheDir = None,
    plugin: Plugin = None,
    perturb: Perturb = None,
    table: ShowTable = True,
    dry_run: DryRun = False,
) -> None:
    """Benchmark one configuration over every split of a dataset and every seed.

    With no options: the default recipe `concat` (early fusion of eGeMAPS and MiniLM) on the
    embedded corpus `synth`, then the table. Axis flags (--augmentation, --fusion, --ed) without
    --baseline start from the `drkf` recipe (a note says so).
    """
    overrides = _axis_overrides(augmentation, fusion, ed, sets)
    notes: list[str] = []
    if recipe is None and overrides.keys() & AXIS_FLAGS.keys():
        recipe = "drkf"  # axis flags without a recipe: DRKF's components, as the paper's ablations
        given = {"augmentation.name": augmentation, "fusion.name": fusion, "model_options.ed": ed}
        flags = [
            AXIS_FLAGS[key] if given[key] is not None else f"--set {key}"
            for key in AXIS_FLAGS
            if key in overrides
        ]
        notes = [
            f"{', '.join(flags)} without --baseline: the recipe is drkf, not the default concat "
            "(--baseline NAME chooses another)"
        ]
    options = sweep_options(
        recipe=recipe, grid=None, overrides=overrides, name=name, variant=variant,
        finetune=finetune, dataset=dataset, data_root=data_root, dataset_option=dataset_option,
        seeds=seeds, split=split, device=device, precision=precision, executor=executor,
        executor_option=executor_option, jobs=jobs, tracking_uri=tracking_uri,
        cache_dir=cache_dir, plugin=plugin, test_on=test_on,
    )  # fmt: skip
    _sweep(options, table=table, dry_run=dry_run, notes=notes, perturb=perturb)


def _axis_overrides(
    augmentation: str | None, fusion: str | None, ed: OnOff | None, sets: list[str] | None
) -> dict[str, object]:
    overrides: dict[str, object] = {}
    if augmentation is not None:
        overrides["augmentation.name"] = augmentation
    if fusion is not None:
        overrides["fusion.name"] = fusion
    if ed is not None:
        overrides["model_options.ed"] = ed == "on"
    overrides.update(parse_pairs(sets, "--set"))
    return overrides


@app.command()
def ablate(
    grid: Annotated[
        str, typer.Option(help="Grid in registry/grids (or a TOML path).")
    ] = "drkf-table4",
    name: Name = None,
    variant: Variant = None,
    finetune: Finetune = False,
    sets: Sets = None,
    dataset: TrainOn = "synth",
    test_on: TestOn = None,
    data_root: DataRoots = None,
    dataset_option: SweepDatasetOption = None,
    seeds: Seeds = "1",
    split: Splits = None,
    device: Device = "auto",
    precision: Precision = None,
    executor: Executor = "local",
    executor_option: ExecutorOption = None,
    jobs: Jobs = 1,
    tracking_uri: TrackingUri = None,
    cache_dir: CacheDir = None,
    plugin: Plugin = None,
    perturb: Perturb = None,
    table: ShowTable = True,
    dry_run: DryRun = False,
) -> None:
    """Run every row of an ablation grid (default: the DRKF paper's Table 4) over every split."""
    options = sweep_options(
        recipe=None, grid=grid, overrides=parse_pairs(sets, "--set"), name=name,
        variant=variant, finetune=finetune, dataset=dataset, data_root=data_root,
        dataset_option=dataset_option, seeds=seeds, split=split, device=device,
        precision=precision, executor=executor, executor_option=executor_option, jobs=jobs,
        tracking_uri=tracking_uri, cache_dir=cache_dir, plugin=plugin, test_on=test_on,
    )  # fmt: skip
    _sweep(options, table=table, dry_run=dry_run, perturb=perturb)

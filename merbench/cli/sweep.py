"""`merbench run` and `merbench ablate`: one option list, one `SweepOptions`, and the experiment
layer's `plan_sweep` / `execute_sweep`; this module parses and prints."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.markup import escape

from merbench.cli.app import (
    CacheDir,
    DataRoot,
    Dataset,
    DatasetOption,
    Device,
    DryRun,
    Executor,
    ExecutorOption,
    Finetune,
    Plugin,
    Precision,
    Seeds,
    Sets,
    ShowTable,
    Splits,
    TrackingUri,
    Variant,
    app,
    console,
    encoding_progress,
    err_console,
    parse_pairs,
)
from merbench.errors import UserError

Jobs = Annotated[
    int,
    typer.Option(
        help="Runs at once on this machine (local executor), in worker processes, threads "
        "divided among them; GPUs round-robin when there are several."
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
    name: Name = None,
    variant: Variant = None,
    finetune: Finetune = False,
    sets: Sets = None,
    dataset: Dataset = "synth",
    data_root: DataRoot = None,
    dataset_option: DatasetOption = None,
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
    table: ShowTable = True,
    dry_run: DryRun = False,
) -> dict[str, Any]:
    """The options `run` and `ablate` share, declared once (`sweep_command` adds them to both)."""
    return dict(locals())


def sweep_command(fn: Callable[..., None]) -> Callable[..., None]:
    """`fn` with the parameters of `sweep_options` appended; `fn` receives them as `shared`."""
    shared = inspect.signature(sweep_options, eval_str=True).parameters
    own = [
        p for p in inspect.signature(fn, eval_str=True).parameters.values() if p.name != "shared"
    ]

    @functools.wraps(fn)
    def command(**kwargs: Any) -> None:
        fn(shared={k: kwargs.pop(k) for k in shared}, **kwargs)

    command.__signature__ = inspect.Signature([*own, *shared.values()])  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in (*own, *shared.values())}
    return command


def _sweep(
    shared: dict[str, Any], *, recipe: str | None, grid: str | None, overrides: dict
) -> None:
    """Shared body of `run` and `ablate`: parse into `SweepOptions`, plan, execute, print."""
    from merbench.experiment.plan import parse_seeds
    from merbench.experiment.sweep import (
        SweepOptions,
        asr_note,
        dataset_ref,
        describe,
        plan_sweep,
    )

    if shared["precision"] is not None:
        overrides = {**overrides, "train.precision": shared["precision"]}
    options = SweepOptions(
        recipe=recipe,
        grid=grid,
        overrides=tuple(overrides.items()),
        variant=shared["variant"],
        datasets=(
            dataset_ref(
                shared["dataset"],
                shared["data_root"],
                parse_pairs(shared["dataset_option"], "--dataset-option"),
            ),
        ),
        seeds=parse_seeds(shared["seeds"]),
        splits=tuple(shared["split"] or ()),
        device=shared["device"],
        executor=shared["executor"],
        executor_options=tuple(parse_pairs(shared["executor_option"], "--executor-option").items()),
        jobs=shared["jobs"],
        tracking_uri=shared["tracking_uri"],
        cache_dir=str(shared["cache_dir"].expanduser()) if shared["cache_dir"] else None,
        plugins=tuple(shared["plugin"] or ()),
        finetune=shared["finetune"],
        label=(shared["name"] or "").strip(),
    )
    with console.status(f"loading {shared['dataset']}" + asr_note(options.datasets[0])):
        sweep = plan_sweep(options, start_workers=not shared["dry_run"])
    for note in sweep.notes:
        err_console.print(f"[yellow]note[/]: {note}", highlight=False)
    if shared["dry_run"]:
        for line in describe(sweep):
            console.print(line, markup=False, highlight=False)
        return
    console.print(sweep.summary(), highlight=False)
    outcomes = _execute(sweep)
    if shared["table"]:
        _print_table(sweep.tracking_uri, [r.name for r in sweep.corpora], grid, sweep.tasks)
    failed = [o for o in outcomes if o.status == "FAILED"]
    if failed:
        raise UserError(
            f"{len(failed)} of {len(sweep.to_run)} runs failed (first: {failed[0].error})"
        )
    _check_held_elsewhere(sweep, outcomes)


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
        err_console.print(f"[yellow]note[/]: {escape(note)}", highlight=False)
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


def _print_table(uri: str, datasets: list[str], grid: str | None, tasks: list) -> None:
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
    text = render_table(
        finished_runs(runs, grid=spec, members=members, labels=labels),
        datasets=datasets,
        grid=spec,
        fmt="terminal",
        predictions=lambda run_id: tracking.load_predictions(run_id, uri),
    )
    console.print(text, markup=False, highlight=False)


@app.command()
@sweep_command
def run(
    shared: dict[str, Any],
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
    ed: Annotated[str | None, typer.Option(help="Emotion-discrimination head: on or off.")] = None,
) -> None:
    """Benchmark one configuration over every split of a dataset and every seed.

    With no options: the default recipe `concat` (early fusion of eGeMAPS and MiniLM) on the
    embedded corpus `synth`, then the table. Axis flags (--augmentation, --fusion, --ed) without
    --baseline start from the `drkf` recipe.
    """
    overrides = _axis_overrides(augmentation, fusion, ed, shared["sets"])
    if recipe is None and overrides.keys() & AXIS_KEYS:
        recipe = "drkf"  # axis flags without a recipe: DRKF's components, as the paper's ablations
    _sweep(shared, recipe=recipe, grid=None, overrides=overrides)


AXIS_KEYS = {"augmentation.name", "fusion.name", "model_options.ed"}


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
@sweep_command
def ablate(
    shared: dict[str, Any],
    grid: Annotated[
        str, typer.Option(help="Grid in registry/grids (or a TOML path).")
    ] = "drkf-table4",
) -> None:
    """Run every row of an ablation grid (default: the DRKF paper's Table 4) over every split."""
    _sweep(shared, recipe=None, grid=grid, overrides=parse_pairs(shared["sets"], "--set"))

"""A sweep, the experiment layer's one way in: plan it, then execute it.

`plan_sweep(options)` expands configurations x datasets x splits x seeds into `RunTask`s and reads
the store to say which already finished and which failed before; it trains nothing, extracts no
feature and changes nothing in the store (``--dry-run`` prints it). `execute_sweep(plan)` fills
the feature store, marks runs left RUNNING by an interrupted sweep as FAILED, and runs every task
not finished, yielding each `Outcome` as it comes. The CLI parses into `SweepOptions`, calls these
two and prints.

Planning first makes the cache root usable and then checks, before any feature is extracted or
any run is recorded, that every chosen split is usable, that ``train.select_metric`` is logged,
and that the tracking store opens (`merbench.experiment.preflight`): one UserError otherwise.
Planning refuses a configuration its corpus cannot feed (one that reads text on a speech-only
corpus, `merbench.experiment.modalities`) before any feature is extracted, and extraction runs
only the encoders the corpus can feed (`needed_encoders`). A corpus loaded with ASR text
(``--dataset-option text=asr``) is transcribed while it loads, once: the transcripts are cached.
A cross-corpus sweep (`SweepOptions.test_on`) loads and encodes the training corpus and every test
corpus, and plans its runs on each pair (`merbench.experiment.crosscorpus.sweep_datasets`).
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from merbench.data.base import Corpus
from merbench.errors import UserError
from merbench.experiment import preflight, tracking
from merbench.experiment.crosscorpus import load_source, sweep_datasets
from merbench.experiment.modalities import needed_encoders
from merbench.experiment.plan import DatasetRef, Outcome, RunTask, load_corpus, pending, plan
from merbench.experiment.recipes import Configuration, configurations

#: Progress callback of feature extraction: (label, done, total).
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class SweepOptions:
    """Everything `merbench run` and `merbench ablate` ask for (one object for both commands).

    `recipe` or `grid` names the configurations (neither: the default recipe); `overrides` are
    dotted ``ROLE.KEY`` values applied after them; `seeds` are the seeds themselves; `jobs` runs
    at once on the local executor (its option ``jobs``); `finetune` trains the encoders'
    backbones end to end (`merbench.experiment.finetune`); `label` names the configurations in
    tables (``--name``; `merbench.experiment.plan.label_of`).
    """

    recipe: str | None = None
    grid: str | None = None
    overrides: tuple[tuple[str, Any], ...] = ()
    variant: str | None = None
    datasets: tuple[DatasetRef, ...] = (DatasetRef("synth"),)
    seeds: tuple[int, ...] = (0,)
    splits: tuple[str, ...] = ()
    device: str = "auto"
    executor: str = "local"
    executor_options: tuple[tuple[str, str], ...] = ()
    jobs: int = 1
    tracking_uri: str | None = None
    cache_dir: str | None = None
    plugins: tuple[str, ...] = ()
    finetune: bool = False
    label: str = ""
    #: cross-corpus sweep: train on ``datasets[0]``, test on each of these
    #: (`merbench.experiment.crosscorpus`)
    test_on: tuple[DatasetRef, ...] = ()


@dataclass
class SweepPlan:
    """The runs of a sweep and their state in the store before it runs.

    `state` maps a run key to ``finished``, ``failed`` (failed or interrupted before: it is run
    again), ``running`` (not finished, and a live process holds its claim: `holders` has the
    claim's record; it is skipped unless the claim ends first) or ``todo`` (never run).
    """

    options: SweepOptions
    configurations: list[Configuration]
    corpora: dict[DatasetRef, Corpus]
    tasks: list[RunTask]
    state: dict[str, str]
    device: str
    tracking_uri: str
    notes: list[str] = field(default_factory=list)
    #: per dataset, the utterances whose media could not be decoded (id -> message), filled by
    #: `execute_sweep` once the features are extracted; the runs leave them out
    unreadable: dict[str, dict[str, str]] = field(default_factory=dict)
    #: the executor, when planning started its workers already (`plan_sweep(start_workers=True)`)
    executor: Any = None
    #: run key -> record of the live claim held by another process (the ``running`` runs)
    holders: dict[str, dict[str, Any]] = field(default_factory=dict)

    def of(self, status: str) -> list[RunTask]:
        """The tasks whose state is `status` (``finished``, ``failed``, ``running`` or ``todo``)."""
        return [t for t in self.tasks if self.state[t.run_key] == status]

    @property
    def to_run(self) -> list[RunTask]:
        """The tasks `execute_sweep` runs: every task not finished."""
        return [t for t in self.tasks if self.state[t.run_key] != "finished"]

    def summary(self) -> str:
        """One line: how many runs, of what, where, and how many are finished / to run."""
        n_conf = max(len(self.configurations), 1)
        names = ", ".join(ref.name for ref in self.corpora)
        failed, running = len(self.of("failed")), len(self.of("running"))
        return (
            f"{len(self.tasks)} runs ({len(self.configurations)} configuration(s) x "
            f"{len(self.tasks) // n_conf} split-seed units) on {names}, device {self.device}: "
            f"{len(self.of('finished'))} already finished, {len(self.to_run)} to run"
            + (f" ({failed} failed before)" if failed else "")
            + (f" ({running} running in another process)" if running else "")
        )


def plan_sweep(options: SweepOptions, start_workers: bool = False) -> SweepPlan:
    """Resolve the configurations, load each corpus, expand the runs and read their state.

    With `start_workers` and ``jobs`` > 1 on the local executor, its worker processes start as
    soon as the configurations are known, and load torch, MLflow and the corpora while this
    process plans and extracts features (`execute_sweep` uses them).

    Raises `UserError` for an unknown recipe, grid, plugin, option, split or executor.
    """
    from merbench.device import resolve_device, resolve_precision
    from merbench.registry import EXECUTORS, load_plugin_modules

    preflight.use_cache_root(options.cache_dir)
    load_plugin_modules(options.plugins)
    confs = configurations(
        recipe=options.recipe,
        grid=options.grid,
        overrides=dict(options.overrides),
        variant=options.variant,
        finetune=options.finetune,
    )
    EXECUTORS.resolve(options.executor, executor_options(options))  # checked before any work
    device = resolve_device(options.device)
    for conf in confs:  # an unsupported precision is refused before any work
        resolve_precision(conf.config.train.precision, device)
    executor = _started_executor(options, confs, device) if start_workers else None
    try:
        uri = tracking.resolve_uri(options.tracking_uri)
        notes = [f"{c.name}: {note}" for c in confs for note in c.notes]
        corpora: dict[DatasetRef, Corpus] = {}
        tasks: list[RunTask] = []
        loaded, planned = sweep_datasets(options.datasets[0], options.test_on, options.datasets)
        for ref in loaded:
            corpus = corpora[ref] = load_source(ref, options.cache_dir, bool(options.test_on))
            if corpus.skipped:
                first = corpus.skipped[0]
                notes.append(
                    f"{ref.name}: {len(corpus.skipped)} utterances skipped (first: {first.id}: "
                    f"{first.reason}); see `merbench datasets check`"
                )
            notes += [f"{ref.name}: {note}" for note in corpus.notes]
            if corpus.shortfall:
                notes.append(f"{ref.name}: short of the release: " + "; ".join(corpus.shortfall))
        for ref in planned:
            corpus = load_corpus(ref, options.cache_dir)
            preflight.check_plan(confs, corpus, options.splits)
            tasks += plan(
                confs,
                ref,
                corpus,
                options.seeds,
                splits=options.splits,
                device=device,
                tracking_uri=uri,
                cache_dir=options.cache_dir,
                plugins=options.plugins,
                label=options.label,
            )
        preflight.open_tracking(uri)  # after the cheap checks: a bad option creates no store
        stored = tracking.run_states(uri) if tasks else {}
        state = {t.run_key: _state(stored.get(t.run_key)) for t in tasks}
        holders = live_holders(uri, [k for k, s in state.items() if s != "finished"])
        state.update(dict.fromkeys(holders, "running"))
    except BaseException:
        if executor is not None:
            executor.close(kill=True)  # a planning error: no worker is left warming up
        raise
    return SweepPlan(
        options,
        confs,
        corpora,
        tasks,
        state,
        device,
        uri,
        notes,
        executor=executor,
        holders=holders,
    )


def live_holders(uri: str, run_keys: list[str]) -> dict[str, dict[str, Any]]:
    """run key -> record of its live claim, for those of `run_keys` another process holds."""
    from merbench.experiment import claims

    found = {key: claims.holder(uri, key) for key in run_keys}
    return {key: record for key, record in found.items() if record is not None}


def _started_executor(options: SweepOptions, confs: list[Configuration], device: str) -> Any:
    """The local executor with its workers started (None for one job or another executor)."""
    from merbench.experiment.executors import LocalExecutor, is_large
    from merbench.registry import EXECUTORS

    if options.executor != "local" or options.jobs == 1:
        return None
    executor: LocalExecutor = EXECUTORS.build("local", **executor_options(options))
    large = any(is_large(conf) for conf in confs)
    warm = functools.partial(warm_worker, options.datasets, options.cache_dir, options.plugins)
    executor.start_workers(large, device, warm)
    return executor


def warm_worker(
    datasets: tuple[DatasetRef, ...], cache_dir: str | None, plugins: tuple[str, ...]
) -> None:
    """What a worker process loads before its first run: the plugins and every corpus."""
    from merbench.registry import load_plugin_modules

    load_plugin_modules(plugins)
    for ref in datasets:
        load_corpus(ref, cache_dir)


def _state(status: str | None) -> str:
    if status is None:
        return "todo"
    return "finished" if status == "FINISHED" else "failed"


def executor_options(options: SweepOptions) -> dict[str, Any]:
    """The executor's options: ``--executor-option`` values, and ``jobs`` from ``--jobs`` (local
    executor only: Ray and Slurm size their own pools; a UserError names their option)."""
    chosen: dict[str, Any] = dict(options.executor_options)
    if options.jobs < 1:
        raise UserError(f"--jobs {options.jobs}: expected at least 1")
    if options.jobs != 1:
        if options.executor != "local":
            raise UserError(
                f"--jobs is for the local executor; with --executor {options.executor} set its "
                "own pool size (ray: --executor-option num_cpus=N, submitit: array_parallelism=N)"
            )
        chosen["jobs"] = options.jobs
    return chosen


def execute_sweep(
    sweep: SweepPlan,
    progress: Progress | None = None,
    on_start: Callable[[RunTask], object] | None = None,
) -> Iterator[Outcome]:
    """Fill the feature store (`prepare_sweep`), then run every task of `sweep` not finished
    (`run_sweep`), yielding outcomes; ``on_start(task)`` when a run starts, where the executor
    knows it."""
    prepare_sweep(sweep, progress)
    yield from run_sweep(sweep, on_start)


def prepare_sweep(sweep: SweepPlan, progress: Progress | None = None) -> None:
    """Fill the feature store for every dataset of `sweep` (only the encoders its corpus can feed).

    Utterances whose media cannot be decoded are left out of the runs and recorded in
    `sweep.unreadable` (with the dataset option ``on_missing=fail`` the first of them is a
    UserError instead).
    """
    from merbench.experiment.runner import prepare_features

    options = sweep.options
    for ref, corpus in sweep.corpora.items():
        encoders = needed_encoders(sweep.configurations, corpus)  # no text encoder: speech only
        on_missing = dict(ref.options).get("on_missing", "skip")
        unreadable = prepare_features(
            corpus, encoders, options.cache_dir, sweep.device, progress, on_missing
        )
        if unreadable:
            sweep.unreadable[ref.name] = unreadable


def run_sweep(
    sweep: SweepPlan, on_start: Callable[[RunTask], object] | None = None
) -> Iterator[Outcome]:
    """Run every task of `sweep` not finished (features already in the store), yielding outcomes.

    Runs an interrupted sweep left RUNNING are marked FAILED first (they are run again); runs
    whose key another live process holds are left alone (SKIPPED if they come up). A grid's
    configurations are recorded as its rows first, and ``--name`` labels as theirs
    (`merbench.experiment.rowrecord`): a row whose runs another command finished is still the
    grid's, and still takes the label.
    """
    from merbench.experiment.rowrecord import record_labels, record_rows
    from merbench.experiment.runner import execute_task
    from merbench.registry import EXECUTORS

    for grid in sorted({t.grid for t in sweep.tasks} - {""}):
        rows = ((t.config_key, t.name) for t in sweep.tasks if t.grid == grid)
        record_rows(sweep.tracking_uri, grid, rows)
    record_labels(sweep.tracking_uri, ((t.config_key, t.label) for t in sweep.tasks))

    executor = sweep.executor or EXECUTORS.build(
        sweep.options.executor, **executor_options(sweep.options)
    )
    todo, _ = pending(sweep.tasks, sweep.tracking_uri)
    yield from executor.run(todo, execute_task, on_start)


def runs_at_once(sweep: SweepPlan) -> tuple[int, int]:
    """(runs at once, threads per run) of the local executor for `sweep`'s unfinished runs;
    (1, 0) for other executors (they size their own pools)."""
    from merbench.registry import EXECUTORS

    if sweep.options.executor != "local":
        return 1, 0
    return EXECUTORS.build("local", **executor_options(sweep.options)).plan(sweep.to_run)


def unreadable_notes(sweep: SweepPlan) -> list[str]:
    """One note per dataset with utterances whose media could not be decoded (after extraction)."""
    notes = []
    for name, unreadable in sweep.unreadable.items():
        first_id, reason = next(iter(unreadable.items()))
        notes.append(
            f"{name}: {len(unreadable)} utterances with unreadable media skipped "
            f"(first: {first_id}: {reason})"
        )
    return notes


def describe(sweep: SweepPlan) -> list[str]:
    """The plan as lines (for ``--dry-run``): one per task with its state, then the summary."""
    from merbench.experiment.claims import describe_holder

    width = max((len(t.name) for t in sweep.tasks), default=0)
    lines = [
        f"{sweep.state[t.run_key]:<8}  {t.name:<{width}}  {t.dataset.name} {t.split} seed {t.seed}"
        f"  {t.run_key[:12]}"
        + (f"  ({describe_holder(sweep.holders[t.run_key])})" if t.run_key in sweep.holders else "")
        for t in sweep.tasks
    ]
    return [*lines, sweep.summary()]


def held_elsewhere(
    sweep: SweepPlan,
    outcomes: list[Outcome],
    on_wait: Callable[[int, dict[str, Any]], None] | None = None,
    poll: float = 1.0,
) -> list[Outcome]:
    """The SKIPPED `outcomes` (another process held their run key) whose run is not FINISHED in
    `sweep`'s store once their holders are done: the store lacks them.

    While a live process still holds any of them, this waits for it (``on_wait(count, claim
    record)`` once, first), so that two sweeps started together both end with every run.
    """
    from merbench.experiment import claims

    skipped = [o for o in outcomes if o.status == "SKIPPED"]
    told = False
    while skipped:
        held = {o.task.run_key: claims.holder(sweep.tracking_uri, o.task.run_key) for o in skipped}
        live = [record for record in held.values() if record is not None]
        if not live:
            break
        if on_wait is not None and not told:
            on_wait(len(live), live[0])
            told = True
        time.sleep(poll)
    if not skipped:
        return []
    states = tracking.run_states(sweep.tracking_uri)
    return [o for o in skipped if states.get(o.task.run_key) != "FINISHED"]


def asr_note(ref: DatasetRef) -> str:
    """Status suffix while `ref` loads with ASR text (transcription may take minutes, once)."""
    text = dict(ref.options).get("text", "gold")
    return f" and transcribing it ({text}; cached after the first time)" if text != "gold" else ""


def dataset_ref(name: str, root: Path | str | None, options: dict[str, Any]) -> DatasetRef:
    """A `DatasetRef` from command-line values: `root`, else ``$MERBENCH_DATA``; a `root` that does
    not exist is a UserError."""
    return DatasetRef(name, data_root(root), tuple(sorted(options.items())))


def data_root(root: Path | str | None) -> str | None:
    """The corpus folder: `root` (must exist), else ``$MERBENCH_DATA``, else None."""
    if root is None:
        return os.environ.get("MERBENCH_DATA")
    if not Path(root).expanduser().exists():
        raise UserError(f"--data-root {root}: no such folder")
    return str(Path(root).expanduser())

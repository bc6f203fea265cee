"""Executors: where the runs of a sweep execute (axis `executors`: local, ray, submitit).

Contract: ``Executor(config).run(tasks, fn, on_start=None) -> Iterator[Outcome]`` calls
``fn(task)`` for every task, in this process or elsewhere, and yields each task's `Outcome` as it
completes; ``on_start(task)`` is called when a task starts, where the executor can know it (local
executor). A task that raises yields an outcome with status FAILED and the error's one-line
message; its MLflow run is already marked FAILED by the tracking context, so the next sweep redoes
it.

Threads (issue 11): a run computes on the threads it is given, set once per worker process
(`merbench.env.set_threads`). The local executor gives a small CPU-scale model (width `d` below
`LARGE_WIDTH`) one thread, since its steps are thousands of tiny ops that a second thread does not
speed up and that collapse when another process competes for the core; the cores go to parallel
runs (``jobs``). A large model gets the cores divided by ``jobs``. Never more threads than cores
in all. Ray and submitit workers use their share (``cpus_per_run``, ``cpus_per_task``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import os
import queue
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from merbench import env
from merbench.errors import UserError
from merbench.registry import EXECUTORS

#: A model at least this wide (``model.d`` of its resolved config) gets several threads per run.
LARGE_WIDTH = 256

OnStart = Callable[[Any], None] | None


def _failed(task: Any, exc: BaseException) -> Any:
    from merbench.experiment.plan import Outcome

    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if not isinstance(exc, UserError):
        message = f"{type(exc).__name__}: {message}"
    return Outcome(task, "FAILED", error=message)


def _guarded(fn: Callable[[Any], Any], task: Any) -> Any:
    """``fn(task)``, or a FAILED outcome carrying the error (traceback printed for bugs)."""
    try:
        return fn(task)
    except UserError as exc:
        return _failed(task, exc)
    except Exception as exc:  # a bug in a run must not lose the rest of the sweep
        traceback.print_exc()
        return _failed(task, exc)


def _in_threads(threads: int, fn: Callable[[Any], Any], task: Any) -> Any:
    """``_guarded(fn, task)`` on `threads` compute threads (a Ray or Slurm worker's share)."""
    env.set_threads(threads)
    return _guarded(fn, task)


def is_large(task: Any) -> bool:
    """Whether `task` (a `RunTask` or a `Configuration`: anything whose ``config`` is a
    `ResolvedConfig`) trains a model wide enough to gain from several threads
    (``model.d >= LARGE_WIDTH``)."""
    model = getattr(getattr(task, "config", None), "model", None)
    width = model.options().get("d", 0) if model is not None else 0
    return isinstance(width, int | float) and width >= LARGE_WIDTH


def thread_plan(jobs: int, cores: int, large: bool) -> tuple[int, int]:
    """(runs at once, threads per run) for `jobs` requested on `cores` cores: at most one run
    per core; one thread per run for a small model, the cores divided among the runs for a
    large one. ``runs * threads <= cores`` always."""
    if jobs < 1:
        raise UserError(f"--jobs {jobs}: expected at least 1")
    runs = max(1, min(jobs, cores))
    return runs, (max(1, cores // runs) if large else 1)


def gpu_slots(device: str, runs: int, device_count: int) -> list[str] | None:
    """The device of each of `runs` worker slots: GPUs round-robin when `device` is ``cuda``
    (not one chosen GPU) and several are visible; None (every task keeps its device) otherwise."""
    if device != "cuda" or device_count < 2:
        return None
    return [f"cuda:{slot % device_count}" for slot in range(runs)]


def _device_count() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


class Executor:
    """Base class of `executors` plugins (see the module docstring for the contract)."""

    def __init__(self, config: Any) -> None:
        self.config = config

    def run(
        self, tasks: list[Any], fn: Callable[[Any], Any], on_start: OnStart = None
    ) -> Iterator[Any]:
        raise NotImplementedError  # pragma: no cover


@dataclass
class LocalConfig:
    """On this machine: ``jobs`` runs at once (1: one after another in this process; more: one in
    this process and ``jobs - 1`` in spawned worker processes), ``threads`` per run (0: from the
    model's size, see the module docstring), GPUs round-robin over the slots when ``--device`` is
    ``cuda`` and there are several."""

    jobs: int = 1
    threads: int = 0
    fail_fast: bool = False


@EXECUTORS.register("local", config=LocalConfig)
class LocalExecutor(Executor):
    def __init__(self, config: Any, device_count: Callable[[], int] = _device_count) -> None:
        super().__init__(config)
        self.device_count = device_count  # injected by tests of the GPU round-robin
        self._workers: _Workers | None = None

    def plan(self, tasks: list[Any]) -> tuple[int, int]:
        """(runs at once, threads per run) for `tasks` on this machine."""
        return self._plan(any(map(is_large, tasks)))

    def _plan(self, large: bool) -> tuple[int, int]:
        runs, threads = thread_plan(self.config.jobs, env.cores(), large)
        if self.config.threads:
            threads = max(1, min(self.config.threads, env.cores() // runs))
        return runs, threads

    def start_workers(
        self, large: bool, device: str, warm: Callable[[], None] | None = None
    ) -> None:
        """Start the worker processes now, each calling `warm()` once (imports, corpus), so that
        their start overlaps this process's own planning and feature extraction; `run` uses them
        when its tasks need the same threads and devices. Nothing with one job."""
        runs, threads = self._plan(large)
        if runs > 1 and self._workers is None:
            devices = gpu_slots(device, runs, self.device_count())
            self._workers = _Workers(runs, threads, devices, warm)

    def close(self, kill: bool = False) -> None:
        """Stop the worker processes started by `start_workers` (when `run` did not use them);
        `kill`: at once (planning failed: do not wait for their warm-up)."""
        if self._workers is not None:
            if kill:
                for process in list(getattr(self._workers.pool, "_processes", {}).values()):
                    process.terminate()
            self._workers.pool.shutdown(wait=not kill, cancel_futures=True)
            self._workers = None

    def run(
        self, tasks: list[Any], fn: Callable[[Any], Any], on_start: OnStart = None
    ) -> Iterator[Any]:
        if not tasks:
            self.close(kill=True)  # nothing to run: the workers' warm-up is not waited for
            return
        runs, threads = self.plan(tasks)
        if runs == 1:
            self.close(kill=True)
            yield from self._in_process(tasks, fn, threads, on_start)
            return
        devices = gpu_slots(getattr(tasks[0], "device", ""), runs, self.device_count())
        workers, self._workers = self._workers, None
        if workers is None or (workers.runs, workers.threads, workers.devices) != (
            runs, threads, devices
        ):  # fmt: skip
            if workers is not None:
                self._workers = workers
                self.close(kill=True)
            workers = _Workers(runs, threads, devices)
        yield from self._in_workers(tasks, fn, workers, on_start)

    def _in_process(
        self, tasks: list[Any], fn: Callable[[Any], Any], threads: int, on_start: OnStart
    ) -> Iterator[Any]:
        import torch

        before = torch.get_num_threads()  # feature extraction in this process keeps its threads
        env.set_threads(threads)
        try:
            for task in tasks:
                if on_start is not None:
                    on_start(task)
                outcome = _guarded(fn, task)
                yield outcome
                if self.config.fail_fast and getattr(outcome, "status", "") == "FAILED":
                    return
        finally:
            torch.set_num_threads(before)

    def _in_workers(
        self, tasks: list[Any], fn: Callable[[Any], Any], workers: _Workers, on_start: OnStart
    ) -> Iterator[Any]:
        """`workers.runs` at once: one in this process (warm: torch, MLflow and the corpus are
        loaded already), in a thread while the main thread dispatches, and ``runs - 1`` in the
        spawned worker processes of `workers`. A task goes to whichever slot is free; start
        events come back through queues."""
        import threading
        from collections import deque
        from concurrent.futures import FIRST_COMPLETED, wait

        import torch

        runs, threads, devices = workers.runs, workers.threads, workers.devices
        pool, started = workers.pool, workers.started
        todo, local = deque(range(len(tasks))), queue.Queue()
        lock, stop = threading.Lock(), threading.Event()

        def next_index() -> int | None:
            with lock:
                return todo.popleft() if todo and not stop.is_set() else None

        def in_this_process() -> None:
            while (index := next_index()) is not None:
                local.put((index, None))
                task = tasks[index]
                if devices and hasattr(task, "device"):
                    task = dataclasses.replace(task, device=devices[0])
                local.put((index, _guarded(fn, task)))

        announced: set[int] = set()

        def announce(index: int) -> None:  # once per task, and always before its outcome
            if index not in announced:
                announced.add(index)
                if on_start is not None:
                    on_start(tasks[index])

        before = torch.get_num_threads()  # feature extraction in this process keeps its threads
        env.set_threads(threads)
        worker = threading.Thread(target=in_this_process, daemon=True)
        worker.start()
        futures: dict[Any, int] = {}
        interrupted = False
        try:
            while True:
                while len(futures) < runs - 1 and (index := next_index()) is not None:
                    futures[pool.submit(_worker_task, fn, tasks[index], index)] = index
                if not futures and not worker.is_alive() and local.empty():
                    return
                if futures:
                    done, _ = wait(futures, timeout=0.2, return_when=FIRST_COMPLETED)
                else:  # only the run in this process is left
                    done = set()
                    worker.join(0.2)
                outcomes = []
                for future in done:
                    index = futures.pop(future)
                    try:
                        outcomes.append((index, future.result()))
                    except Exception as exc:  # the worker process died
                        outcomes.append((index, _failed(tasks[index], exc)))
                outcomes += _local_outcomes(local, announce)
                for index, outcome in outcomes:
                    announce(index)  # its start event may still be in the queue's pipe
                    yield outcome
                    if self.config.fail_fast and getattr(outcome, "status", "") == "FAILED":
                        return
                _drain(started, announce)  # after the outcomes: a start follows the end before
        except KeyboardInterrupt:
            interrupted = True  # the run in this process dies with it (resumed next time)
            raise
        finally:
            stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
            if not interrupted:
                worker.join()  # the run in this process ends (fail_fast: after its run)
            torch.set_num_threads(before)


def _local_outcomes(local: Any, announce: Callable[[int], None]) -> list[tuple[int, Any]]:
    """The outcomes the run in this process queued ((index, None) announces a start)."""
    outcomes = []
    while True:
        try:
            index, outcome = local.get_nowait()
        except queue.Empty:
            return outcomes
        if outcome is None:
            announce(index)
        else:
            outcomes.append((index, outcome))


class _Workers:
    """``runs - 1`` spawned worker processes (slot 0 is the calling process), each on `threads`
    threads, slot k on ``devices[k]``; each calls `warm()` once when it starts."""

    def __init__(
        self,
        runs: int,
        threads: int,
        devices: list[str] | None,
        warm: Callable[[], None] | None = None,
    ) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self.runs, self.threads, self.devices = runs, threads, devices
        context = multiprocessing.get_context("spawn")
        slots, self.started = context.Queue(), context.Queue()
        for slot in range(1, runs):  # slot 0 is this process
            slots.put(slot)
        self.pool = ProcessPoolExecutor(
            runs - 1,
            context,
            initializer=_worker_init,
            initargs=(threads, slots, self.started, devices, warm),
        )
        for _ in range(runs - 1):  # spawn every worker now (the pool spawns them on submit)
            self.pool.submit(int)


def _drain(started: Any, announce: Callable[[int], None]) -> None:
    """Announce every start event waiting in the queue `started` (task indices)."""
    while True:
        try:
            announce(started.get_nowait())
        except queue.Empty:
            return


_WORKER: dict[str, Any] = {}


def _worker_init(
    threads: int,
    slots: Any,
    started: Any,
    devices: list[str] | None,
    warm: Callable[[], None] | None = None,
) -> None:
    """A worker process's setup, before it imports torch: its threads, its slot (and GPU), and
    the imports every run needs (so that they overlap the first runs of the other slots)."""
    env.set_threads(threads)
    _take_slot(slots, started, devices)
    with contextlib.suppress(ImportError):
        importlib.import_module("merbench.experiment.runner")
        importlib.import_module("mlflow")
    if warm is not None:
        try:
            warm()
        except Exception:  # noqa: S110 - the first run reports the same error with its task
            pass


def _take_slot(slots: Any, started: Any, devices: list[str] | None) -> None:
    """Take the next free worker slot from the queue `slots`; its device is the worker's GPU."""
    slot = slots.get()
    _WORKER.update(started=started, device=devices[slot] if devices else None)


def _worker_task(fn: Callable[[Any], Any], task: Any, index: int) -> Any:
    """Run `task` in a worker: announce its start, move it to the worker's GPU, guard it."""
    _WORKER["started"].put(index)
    if _WORKER["device"] is not None and hasattr(task, "device"):
        task = dataclasses.replace(task, device=_WORKER["device"])
    return _guarded(fn, task)


@dataclass
class RayConfig:
    """Ray: `address` '' starts a local Ray with `num_cpus` workers; 'auto' joins a cluster."""

    address: str = ""
    num_cpus: int = 2
    cpus_per_run: float = 1.0
    gpus_per_run: float = 0.0


@EXECUTORS.register("ray", config=RayConfig)
class RayExecutor(Executor):
    """One Ray task per run; results stream back as they finish."""

    def run(
        self, tasks: list[Any], fn: Callable[[Any], Any], on_start: OnStart = None
    ) -> Iterator[Any]:
        try:
            import ray
        except ImportError:
            raise UserError("--executor ray needs ray: pip install 'merbench[cluster]'") from None
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")
        # a local Ray starts its workers at nice 15 (RAY_worker_niceness): any other process on
        # the machine then starves the runs (measured: 4-7x slower beside a test suite)
        os.environ.setdefault("RAY_worker_niceness", "0")
        cfg = self.config
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
            if cfg.address:
                kwargs["address"] = cfg.address
            else:
                kwargs["num_cpus"] = cfg.num_cpus
            ray.init(**kwargs)
        remote = ray.remote(num_cpus=cfg.cpus_per_run, num_gpus=cfg.gpus_per_run)(_in_threads)
        threads = max(1, int(cfg.cpus_per_run))  # the worker's share of the cores
        refs = {remote.remote(threads, fn, task): task for task in tasks}
        while refs:
            ready, _ = ray.wait(list(refs), num_returns=1)
            for ref in ready:
                task = refs.pop(ref)
                try:
                    yield ray.get(ref)
                except Exception as exc:  # worker died
                    yield _failed(task, exc)


@dataclass
class SubmititConfig:
    """Slurm through submitit (one array job, one run per element); cluster 'local' for testing."""

    cluster: str = "slurm"
    folder: str = "results/submitit/%j"
    partition: str = ""
    timeout_min: int = 240
    cpus_per_task: int = 4
    gpus_per_node: int = 0
    mem_gb: int = 16
    array_parallelism: int = 32


@EXECUTORS.register("submitit", config=SubmititConfig)
class SubmititExecutor(Executor):
    """Submits every run as an element of one Slurm job array and streams results as they end."""

    def run(
        self, tasks: list[Any], fn: Callable[[Any], Any], on_start: OnStart = None
    ) -> Iterator[Any]:
        try:
            import submitit
        except ImportError:
            raise UserError(
                "--executor submitit needs submitit: pip install 'merbench[cluster]'"
            ) from None
        cfg = self.config
        executor = submitit.AutoExecutor(folder=cfg.folder, cluster=cfg.cluster)
        params: dict[str, Any] = {"timeout_min": cfg.timeout_min}
        if cfg.cluster == "slurm":
            params.update(
                slurm_array_parallelism=cfg.array_parallelism,
                cpus_per_task=cfg.cpus_per_task,
                gpus_per_node=cfg.gpus_per_node,
                mem_gb=cfg.mem_gb,
            )
            if cfg.partition:
                params["slurm_partition"] = cfg.partition
        executor.update_parameters(**params)
        threads = [max(1, cfg.cpus_per_task)] * len(tasks)  # the Slurm task's share of the cores
        jobs = executor.map_array(_in_threads, threads, [fn] * len(tasks), tasks)
        for job, task in zip(jobs, tasks, strict=True):
            try:
                yield job.result()
            except Exception as exc:  # the job itself failed (killed, timed out, ...)
                yield _failed(task, exc)

"""The ``local`` executor: the runs of a sweep on this machine, ``jobs`` at once.

With one job the runs go one after another in this process; with more, one runs in this process
and ``jobs - 1`` in spawned worker processes (`merbench.experiment.executors.workers`). Threads per
run and GPUs per slot follow `merbench.experiment.executors.threads`: ``threads`` 0 takes them from
the model's size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from merbench import env
from merbench.experiment.executors.base import Executor, OnStart, _guarded
from merbench.experiment.executors.threads import _device_count, gpu_slots, is_large, thread_plan
from merbench.experiment.executors.workers import _Workers, in_workers
from merbench.registry import EXECUTORS


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
        yield from in_workers(tasks, fn, workers, on_start, self.config.fail_fast)

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

"""Executors: where the runs of a sweep execute (axis `executors`: local, ray, submitit).

Contract: ``Executor(config).run(tasks, fn, on_start=None) -> Iterator[Outcome]`` calls
``fn(task)`` for every task, in this process or elsewhere, and yields each task's `Outcome` as it
completes; ``on_start(task)`` is called when a task starts, where the executor can know it (local
executor). A task that raises yields an outcome with status FAILED and the error's one-line
message; its MLflow run is already marked FAILED by the tracking context, so the next sweep redoes
it.

Threads: a run computes on the threads it is given, set once per worker process
(`merbench.env.set_threads`). The local executor gives a small CPU-scale model (width `d` below
`LARGE_WIDTH`) one thread, since its steps are thousands of tiny ops that a second thread does not
speed up and that collapse when another process competes for the core; the cores go to parallel
runs (``jobs``). A large model gets the cores divided by ``jobs``. Never more threads than cores
in all. Ray and submitit workers use their share (``cpus_per_run``, ``cpus_per_task``).

Files: `base` (the `Executor` base class and the guard around a run), `threads` (`thread_plan`,
`is_large`, `gpu_slots`), `local` (the ``local`` plugin), `workers` (its spawned worker
processes), `cluster` (the ``ray`` and ``submitit`` plugins). Importing this package registers
the three plugins (the registry's built-in module).
"""

from __future__ import annotations

from merbench.experiment.executors.base import Executor, OnStart, _failed, _guarded, _in_threads
from merbench.experiment.executors.cluster import (
    RayConfig,
    RayExecutor,
    SubmititConfig,
    SubmititExecutor,
)
from merbench.experiment.executors.local import LocalConfig, LocalExecutor
from merbench.experiment.executors.threads import LARGE_WIDTH, gpu_slots, is_large, thread_plan
from merbench.experiment.executors.workers import _WORKER, _take_slot, _worker_task, _Workers

__all__ = [  # with the private names the tests of the worker slots use
    "LARGE_WIDTH",
    "Executor",
    "LocalConfig",
    "LocalExecutor",
    "OnStart",
    "RayConfig",
    "RayExecutor",
    "SubmititConfig",
    "SubmititExecutor",
    "gpu_slots",
    "is_large",
    "thread_plan",
    "_WORKER",
    "_Workers",
    "_failed",
    "_guarded",
    "_in_threads",
    "_take_slot",
    "_worker_task",
]

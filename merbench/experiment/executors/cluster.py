"""The cluster executors: ``ray`` (one Ray task per run) and ``submitit`` (one Slurm job array).

Both need the ``cluster`` extra (a missing package is a `UserError` naming the install command).
Each run computes on its worker's share of the cores (``cpus_per_run``, ``cpus_per_task``), set
by `_in_threads`; a worker or job that dies yields a FAILED outcome.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from merbench.errors import UserError
from merbench.experiment.executors.base import Executor, OnStart, _failed, _in_threads
from merbench.registry import EXECUTORS


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

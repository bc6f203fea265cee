"""Executors: where the runs of a sweep execute (axis `executors`: local, ray, submitit).

Contract: ``Executor(config).run(tasks, fn) -> Iterator[Outcome]`` calls ``fn(task)`` for every
task, in this process or elsewhere, and yields each task's `Outcome` as it completes. A task that
raises yields an outcome with status FAILED and the error's one-line message; its MLflow run is
already marked FAILED by the tracking context, so the next sweep redoes it.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from merbench.errors import UserError
from merbench.registry import EXECUTORS


def _failed(task: Any, exc: BaseException) -> Any:
    from merbench.experiment.runner import Outcome

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


class Executor:
    """Base class of `executors` plugins (see the module docstring for the contract)."""

    def __init__(self, config: Any) -> None:
        self.config = config

    def run(self, tasks: list[Any], fn: Callable[[Any], Any]) -> Iterator[Any]:
        raise NotImplementedError  # pragma: no cover


@dataclass
class LocalConfig:
    """Runs one after another in this process (the default; uses the GPU when `--device` says)."""

    fail_fast: bool = False


@EXECUTORS.register("local", config=LocalConfig)
class LocalExecutor(Executor):
    def run(self, tasks: list[Any], fn: Callable[[Any], Any]) -> Iterator[Any]:
        for task in tasks:
            outcome = _guarded(fn, task)
            yield outcome
            if self.config.fail_fast and getattr(outcome, "status", "") == "FAILED":
                return


@dataclass
class RayConfig:
    """Ray: `address` '' starts a local Ray with `num_cpus` workers; 'auto' joins a cluster."""

    address: str = ""
    num_cpus: int = 2
    cpus_per_run: float = 1.0
    gpus_per_run: float = 0.0


def _ray_task(fn: Callable[[Any], Any], task: Any) -> Any:
    import torch

    torch.set_num_threads(1)
    return _guarded(fn, task)


@EXECUTORS.register("ray", config=RayConfig)
class RayExecutor(Executor):
    """One Ray task per run; results stream back as they finish."""

    def run(self, tasks: list[Any], fn: Callable[[Any], Any]) -> Iterator[Any]:
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
        remote = ray.remote(num_cpus=cfg.cpus_per_run, num_gpus=cfg.gpus_per_run)(_ray_task)
        refs = {remote.remote(fn, task): task for task in tasks}
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

    def run(self, tasks: list[Any], fn: Callable[[Any], Any]) -> Iterator[Any]:
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
        jobs = executor.map_array(_guarded, [fn] * len(tasks), tasks)
        for job, task in zip(jobs, tasks, strict=True):
            try:
                yield job.result()
            except Exception as exc:  # the job itself failed (killed, timed out, ...)
                yield _failed(task, exc)

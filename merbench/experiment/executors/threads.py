"""How many runs at once and how many threads each, and which GPU each slot uses.

A run computes on the threads it is given, set once per worker process (`merbench.env.set_threads`).
The local executor gives a small CPU-scale model (width `d` below `LARGE_WIDTH`) one thread, since
its steps are thousands of tiny ops that a second thread does not speed up and that collapse when
another process competes for the core; the cores go to parallel runs (``jobs``). A large model
gets the cores divided by ``jobs``. Never more threads than cores in all.
"""

from __future__ import annotations

from typing import Any

from merbench.errors import UserError

#: A model at least this wide (``model.d`` of its resolved config) gets several threads per run.
LARGE_WIDTH = 256


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

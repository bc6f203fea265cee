"""Environment defaults of merbench processes, declared once: the model hubs' mode, no telemetry,
and the compute threads of a process.

`OFFLINE` is what `--offline` sets: Hugging Face never reaches the network, so a model that is not
on disk is a clear error at once (without it, a hub name is downloaded, as the ecosystem does);
`QUIET` turns off MLflow's telemetry and progress bars and tokenizers' fork warnings. Values the
user already set win (`apply` uses ``setdefault``; `force` overrides them).

`THREADS` makes OpenMP threads sleep when idle (``OMP_WAIT_POLICY=passive``) instead of spinning:
spinning threads of one process steal the cores of every other one (measured: a synth DRKF step
beside a busy loop 3.1x slower with 2 spinning threads, `benchmarks/thread_cliff.py`). OpenMP
reads it once, when torch is imported, so `merbench.cli.main` applies it before anything imports
torch. `set_threads(n)` is the one place a process's thread count is set.
"""

from __future__ import annotations

import os
import sys

OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
QUIET = {
    "TOKENIZERS_PARALLELISM": "false",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "1",
    "GIT_PYTHON_REFRESH": "quiet",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
}
THREADS = {"OMP_WAIT_POLICY": "passive"}


def apply(*groups: dict[str, str]) -> None:
    """Set every variable of `groups` that the environment does not set already."""
    for group in groups:
        for key, value in group.items():
            os.environ.setdefault(key, value)


def force(*groups: dict[str, str]) -> None:
    """Set every variable of `groups`, whatever the environment says."""
    for group in groups:
        os.environ.update(group)


def cores() -> int:
    """The CPU cores this process may run on (its affinity mask, else the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover (macOS, Windows)
        return os.cpu_count() or 1


def set_threads(n: int) -> None:
    """Run this process's compute on `n` threads: ``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS`` (read
    by libraries loaded later and inherited by child processes), passive OpenMP waiting when torch
    is not imported yet, and torch's intra-op pool (resized only when it differs: resizing
    restarts the pool)."""
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(n)
    if "torch" not in sys.modules:
        apply(THREADS)
    import torch

    if torch.get_num_threads() != n:
        torch.set_num_threads(n)

"""The base of `executors` plugins and the guard every executor puts around a run.

Contract: ``Executor(config).run(tasks, fn, on_start=None) -> Iterator[Outcome]`` calls
``fn(task)`` for every task, in this process or elsewhere, and yields each task's `Outcome` as it
completes; ``on_start(task)`` is called when a task starts, where the executor can know it (local
executor). A task that raises yields an outcome with status FAILED and the error's one-line
message (`_guarded`, `_failed`); its MLflow run is already marked FAILED by the tracking context,
so the next sweep redoes it.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterator
from typing import Any

from merbench import env
from merbench.errors import UserError

OnStart = Callable[[Any], object] | None  # its return value is ignored


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


class Executor:
    """Base class of `executors` plugins (see the module docstring for the contract)."""

    def __init__(self, config: Any) -> None:
        self.config = config

    def run(
        self, tasks: list[Any], fn: Callable[[Any], Any], on_start: OnStart = None
    ) -> Iterator[Any]:
        raise NotImplementedError  # pragma: no cover

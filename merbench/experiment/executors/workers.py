"""The spawned worker processes of the local executor (``--jobs`` above 1).

`_Workers` starts ``runs - 1`` worker processes (``spawn``), each on its threads and, with several
GPUs, on its slot's GPU (`_worker_init`, `_take_slot`); `in_workers` runs a list of tasks on them
and on one slot in this process, yielding each outcome as it ends and announcing each start
(through the queue ``started``) before its outcome.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import queue
from collections.abc import Callable, Iterator
from typing import Any

from merbench import env
from merbench.experiment.executors.base import OnStart, _failed, _guarded


def in_workers(
    tasks: list[Any],
    fn: Callable[[Any], Any],
    workers: _Workers,
    on_start: OnStart,
    fail_fast: bool = False,
) -> Iterator[Any]:
    """`workers.runs` at once: one in this process (warm: torch, MLflow and the corpus are
    loaded already), in a thread while the main thread dispatches, and ``runs - 1`` in the
    spawned worker processes of `workers`. A task goes to whichever slot is free; start
    events come back through queues. `fail_fast`: stop after the first FAILED outcome."""
    import threading
    from collections import deque
    from concurrent.futures import FIRST_COMPLETED, wait

    import torch

    runs, threads, devices = workers.runs, workers.threads, workers.devices
    pool, started = workers.pool, workers.started
    todo, local = deque(range(len(tasks))), queue.Queue[tuple[int, Any]]()
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
                if fail_fast and getattr(outcome, "status", "") == "FAILED":
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
    outcomes: list[tuple[int, Any]] = []
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

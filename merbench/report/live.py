"""The live view of a sweep: per configuration x split, which runs are done, running, failed or
skipped, with elapsed time and ETA, and each failure with its one-line reason.

`GridView` follows the events of a sweep (`start(task)`, `finish(outcome)`) and gives both forms:
plain lines (returned by the two methods, for logs and non-terminal output) and a rich renderable
(``__rich__``, redrawn by a `rich.live.Live` in a terminal). The clock is injected for tests.

Cell marks (one per run of the cell: several with several seeds): ``✓`` done (``✓`` dim: finished
by an earlier sweep), ``▶ 12s`` running for 12 s, ``✗`` failed, ``–`` skipped (another process
holds it or finished it), ``·`` queued.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MARKS = {"done": "✓", "before": "[dim]✓[/]", "failed": "[red]✗[/]", "skipped": "–", "queued": "·"}


def clock(seconds: float) -> str:
    """``75.4`` -> ``1:15``; ``3725`` -> ``1:02:05``."""
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@dataclass
class _Run:
    state: str  # queued, running, done, before, failed, skipped
    started: float = 0.0
    ended: float = 0.0


def _label(task: Any) -> str:
    return f"{task.name} {task.split} seed {task.seed}"


class GridView:
    """The state of every run of a sweep (`tasks`, of which `finished` run keys finished before),
    with `runs_at_once` runs in parallel (for the ETA)."""

    def __init__(
        self,
        tasks: list[Any],
        finished: set[str] = frozenset(),  # type: ignore[assignment]
        runs_at_once: int = 1,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.tasks = tasks
        self.now = now
        self.runs_at_once = max(1, runs_at_once)
        self.runs = {
            t.run_key: _Run("before" if t.run_key in finished else "queued") for t in tasks
        }
        self.failures: list[str] = []
        self.began = now()
        self.rows = list(dict.fromkeys(t.name for t in tasks))
        datasets = {t.dataset.name for t in tasks}
        self.columns = list(dict.fromkeys(self._column(t, len(datasets) > 1) for t in tasks))
        self._several_datasets = len(datasets) > 1

    @staticmethod
    def _column(task: Any, with_dataset: bool) -> str:
        return f"{task.dataset.name} {task.split}" if with_dataset else task.split

    # -- events: each returns its plain line ------------------------------------------------
    def start(self, task: Any) -> str:
        """`task` started; the plain line ``start <name> <split> seed <seed>``."""
        run = self.runs[task.run_key]
        run.state, run.started = "running", self.now()
        return f"start {_label(task)}"

    def finish(self, outcome: Any) -> str:
        """`outcome` came; the plain line (metrics or reason, then ``[n/N, elapsed, ETA]``)."""
        task = outcome.task
        run = self.runs[task.run_key]
        if run.state != "running":  # never announced as started (an executor that cannot tell)
            run.started = self.now()
        run.ended = self.now()
        if outcome.status == "FAILED":
            run.state = "failed"
            line = f"FAILED {_label(task)}: {outcome.error}"
            self.failures.append(line)
        elif outcome.status == "SKIPPED":
            run.state = "skipped"
            line = f"skipped {_label(task)}: {outcome.error}"
        else:
            run.state = "done"
            first = [k for k in outcome.metrics if k.startswith("test/")][:3]
            shown = ", ".join(f"{k[5:]} {outcome.metrics[k]:.3f}" for k in first)
            line = f"{_label(task)}: {shown} ({outcome.seconds:.1f}s)"
        return f"{line} [{self.progress()}]"

    # -- summary ------------------------------------------------------------------------------
    def count(self, *states: str) -> int:
        return sum(r.state in states for r in self.runs.values())

    def eta(self) -> float | None:
        """Seconds until every run has ended, from the mean wall time of the runs that ended in
        this sweep; None before the first one ends."""
        ended = [r.ended - r.started for r in self.runs.values() if r.ended]
        if not ended:
            return None
        mean = sum(ended) / len(ended)
        now = self.now()
        left = self.count("queued") * mean + sum(
            max(mean - (now - r.started), 0.0) for r in self.runs.values() if r.state == "running"
        )
        return left / self.runs_at_once

    def progress(self) -> str:
        """``3/40 done, 1 failed, elapsed 1:15, ETA 4:10`` (failed and skipped only when any)."""
        parts = [f"{self.count('done', 'before')}/{len(self.runs)} done"]
        for state in ("running", "failed", "skipped"):
            if n := self.count(state):
                parts.append(f"{n} {state}")
        eta = self.eta()
        parts.append(f"elapsed {clock(self.now() - self.began)}")
        parts.append(f"ETA {clock(eta)}" if eta is not None else "ETA ?")
        return ", ".join(parts)

    def cell(self, name: str, column: str) -> str:
        """The marks of the runs of configuration `name` in `column` (rich markup)."""
        marks = []
        for task in self.tasks:
            if task.name != name or self._column(task, self._several_datasets) != column:
                continue
            run = self.runs[task.run_key]
            if run.state == "running":
                marks.append(f"[cyan]▶ {clock(self.now() - run.started)}[/]")
            else:
                marks.append(MARKS[run.state])
        return " ".join(marks)

    def __rich__(self) -> Any:
        from rich.console import Group
        from rich.markup import escape
        from rich.table import Table

        table = Table(box=None, pad_edge=False)
        table.add_column("configuration", no_wrap=True)
        for column in self.columns:
            table.add_column(column, justify="center", no_wrap=True)
        for name in self.rows:
            table.add_row(escape(name), *(self.cell(name, c) for c in self.columns))
        failures = [f"[red]{escape(line)}[/]" for line in self.failures]
        return Group(table, escape(self.progress()), *failures)

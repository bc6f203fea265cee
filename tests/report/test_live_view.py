"""The live grid view of a sweep: plain lines for logs, and the rich rendering a
terminal shows (configuration x split: done, running, failed, skipped, queued; elapsed and ETA;
failures with their reason)."""

from __future__ import annotations

from rich.console import Console

from merbench.experiment.plan import DatasetRef, Outcome, RunTask
from merbench.report.live import GridView, clock


def task(name: str, split: str) -> RunTask:
    return RunTask(name, "g", "{}", DatasetRef("synth"), "{}", split, 0, f"{name}-{split}", name,
                   "cpu", "sqlite:///x.db", None)  # fmt: skip


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def sweep_events() -> tuple[GridView, list[str], Clock]:
    """Two configurations x three folds, two at once: one finished before, one done, one failed,
    one skipped, one running, one queued."""
    tasks = [task(n, f"fold{k}") for n in ("BME", "DRKF") for k in (1, 2, 3)]
    now = Clock()
    view = GridView(tasks, finished={"BME-fold1"}, runs_at_once=2, now=now)
    lines = [view.start(tasks[1]), view.start(tasks[2])]
    now.t = 110.0
    lines.append(view.finish(Outcome(tasks[1], "FINISHED", {"test/ua": 0.5, "test/wa": 0.625,
                                                            "dev/ua": 0.1}, 9.5)))  # fmt: skip
    lines.append(view.start(tasks[3]))
    now.t = 130.0
    lines.append(view.finish(Outcome(tasks[2], "FAILED", error="loss diverged at epoch 3")))
    lines.append(view.finish(Outcome(tasks[3], "SKIPPED", error="held by pid 7 on h")))
    lines.append(view.start(tasks[4]))
    now.t = 142.0
    return view, lines, now


def test_plain_lines_say_each_event_with_progress_elapsed_and_eta() -> None:
    view, lines, _ = sweep_events()
    assert lines == [
        "start BME fold2 seed 0",
        "start BME fold3 seed 0",
        # 2 of 6 done (one from before); ETA: mean 10 s over 3 queued + the 10 s left of the
        # running one, 2 at once: (3 * 10 + 0) / 2 = 15 s
        "BME fold2 seed 0: ua 0.500, wa 0.625 (9.5s) [2/6 done, 1 running, elapsed 0:10, ETA 0:15]",
        "start DRKF fold1 seed 0",
        # ended runs 10 s and 30 s: mean 20; 2 queued (40) + DRKF fold1, running for 20 s of
        # the 20 expected: 0 left; 2 at once: 40 / 2 = 20 s
        "FAILED BME fold3 seed 0: loss diverged at epoch 3 "
        "[2/6 done, 1 running, 1 failed, elapsed 0:30, ETA 0:20]",
        # fold1 of DRKF ended at 130 after 20 s: mean (10 + 30 + 20) / 3 = 20, 2 queued: 40 / 2
        "skipped DRKF fold1 seed 0: held by pid 7 on h "
        "[2/6 done, 1 failed, 1 skipped, elapsed 0:30, ETA 0:20]",
        "start DRKF fold2 seed 0",
    ]


def test_live_rendering_shows_the_grid_the_totals_and_the_failure() -> None:
    view, _, _ = sweep_events()
    console = Console(force_terminal=True, record=True, width=100, color_system=None)
    console.print(view)
    text = console.export_text()
    rows = [line.rstrip() for line in text.splitlines()]
    assert rows[0].split() == ["configuration", "fold1", "fold2", "fold3"]
    assert rows[1].split() == ["BME", "✓", "✓", "✗"]
    assert rows[2].split() == ["DRKF", "–", "▶", "0:12", "·"]  # running for 12 s
    # elapsed 0:42; ETA: mean 20, 1 queued (20) + running 20 - 12 = 8 left: 28 / 2 = 14 s
    assert rows[3] == "2/6 done, 1 running, 1 failed, 1 skipped, elapsed 0:42, ETA 0:14"
    assert rows[4] == "FAILED BME fold3 seed 0: loss diverged at epoch 3"
    assert len([r for r in rows if r]) == 5


def test_clock_formats_minutes_and_hours() -> None:
    assert [clock(0), clock(75.4), clock(3725)] == ["0:00", "1:15", "1:02:05"]

"""`merbench --help` latency (target < 0.5 s), beside what it is made of: the
interpreter's own start and ``import merbench.cli``. Median of several runs, each a fresh process.

    .venv/bin/python benchmarks/cli_latency.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from typing import Any

from benchrows import ROOT, load_note, merbench_env, row, table

TARGET = 0.5


def wall(command: list[str], repeats: int) -> float:
    """Median wall seconds of `command` over `repeats` runs (after one untimed run)."""
    env = merbench_env()
    subprocess.run(command, env=env, cwd=ROOT, capture_output=True, check=True)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, env=env, cwd=ROOT, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run(quick: bool = False) -> list[dict[str, Any]]:
    repeats = 2 if quick else 7
    python = [sys.executable]
    help_s = wall([*python, "-m", "merbench.cli", "--help"], repeats)
    import_s = wall([*python, "-c", "import merbench.cli"], repeats)
    start_s = wall([*python, "-c", "pass"], repeats)
    how = f"median of {repeats} fresh processes, {load_note()}"
    met = help_s < TARGET
    miss = "" if met else f"; misses by {help_s - TARGET:.2f} s"
    return [
        row("cli-latency", "merbench --help", help_s, "s", f"< {TARGET} s", met, how + miss),
        row("cli-latency", "import merbench.cli", import_s, "s", None, None, how),
        row("cli-latency", "python -c pass", start_s, "s", None, None, how + ": the floor"),
    ]


if __name__ == "__main__":
    print(table(run()))

"""The drkf-table4 grid on synth (target: under 10 minutes cold on 2 cores),
and `--jobs 2` against `--jobs 1` (target: no slower).

Each measure is one `merbench ablate --no-table` process on a temporary cache and results folder:

- cold: empty feature cache and store (extracts the features, trains every run), ``--jobs 2``;
- resume: the same command again (everything finished: plan, check the store, stop);
- jobs 1 / jobs 2: warm feature cache, an empty store each time, the runs of `SUBSET` folds
  (the whole grid with ``--full``): training only.

Peak memory is the largest sum of the resident memory of the merbench process and its workers,
sampled from /proc every 0.2 s.

    .venv/bin/python benchmarks/grid.py [--full | --quick]
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benchrows import load_note, merbench_env, row, table

GRID = "drkf-table4"
COLD_TARGET = 600.0
#: folds of the warm --jobs 1 / --jobs 2 comparison (6 runs each): two folds took 245 + 149 s
#: on 2 quiet cores and pushed `make bench` past its 15 minutes
SUBSET = ("fold1",)


def tree_rss(pid: int) -> int:
    """Resident bytes of process `pid` and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo += children.get(p, [])
        try:
            with open(f"/proc/{p}/statm", encoding="ascii") as fh:
                total += int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            pass
    return total


def timed(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(wall seconds, peak resident MiB of the process tree, stdout) of ``merbench ARGS``."""
    import subprocess

    peak = [0]
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "merbench.cli", *args], env=env,
                            cwd=Path(__file__).resolve().parent.parent,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.2):
            peak[0] = max(peak[0], tree_rss(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    done.set()
    sampler.join()
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"merbench {' '.join(args)} failed ({proc.returncode}): {err[-2000:]}")
    return seconds, peak[0] / 2**20, out


def run(quick: bool = False, full: bool = False) -> list[dict[str, Any]]:
    base = ["ablate", "--grid", GRID, "--no-table", "--seeds", "1"]
    if quick:  # a smoke test: a tiny corpus, one fold, one epoch
        base += ["--dataset-option", "utterances_per_session=8", "--split", "fold1",
                 "--set", "train.max_epochs=1"]  # fmt: skip
    subset = [] if full or quick else [a for s in SUBSET for a in ("--split", s)]
    tmp = Path(tempfile.mkdtemp(prefix="merbench-bench-grid-"))
    try:
        env = merbench_env(MERBENCH_CACHE=str(tmp / "cache"), MERBENCH_RESULTS=str(tmp / "cold"))
        cold, cold_mib, out = timed([*base, "--jobs", "2"], env)
        n_runs = sum(1 for line in out.splitlines() if line.startswith("start "))
        resume, _, _ = timed([*base, "--jobs", "2"], env)
        walls = {}
        for jobs in (1, 2):
            env["MERBENCH_RESULTS"] = str(tmp / f"jobs{jobs}")
            walls[jobs] = timed([*base, *subset, "--jobs", str(jobs)], env)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    what = f"{n_runs} runs ({GRID}, synth{', quick' if quick else ''}); {load_note()}"
    folds = f"fold{'s' if len(SUBSET) > 1 else ''} {', '.join(SUBSET)}"
    scope = "the whole grid" if (full or quick) else f"{folds} of the grid"
    ratio = walls[2][0] / walls[1][0]
    met = cold < COLD_TARGET
    return [
        row("grid", "cold: wall time", cold, "s", f"< {COLD_TARGET:.0f} s", met,
            f"empty cache and store, --jobs 2, {what}"
            + ("" if met else f"; misses by {cold - COLD_TARGET:.0f} s")),
        row("grid", "cold: peak memory", cold_mib, "MiB", None, None,
            "resident, merbench process + workers"),
        row("grid", "resume (all finished): wall time", resume, "s", None, None,
            "the same command again: nothing to run"),
        row("grid", "warm, --jobs 1: wall time", walls[1][0], "s", None, None,
            f"features cached, empty store, {scope}; peak {walls[1][1]:.0f} MiB"),
        row("grid", "warm, --jobs 2: wall time", walls[2][0], "s", None, None,
            f"features cached, empty store, {scope}; peak {walls[2][1]:.0f} MiB"),
        row("grid", "--jobs 2 / --jobs 1", ratio, "x", "<= 1.0x", ratio <= 1.0,
            "wall-time ratio of the two rows above (one bench process, one after the other)"),
    ]  # fmt: skip


if __name__ == "__main__":
    print(table(run(quick="--quick" in sys.argv, full="--full" in sys.argv)))

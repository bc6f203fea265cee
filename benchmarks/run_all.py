"""`make bench`: every benchmark of the bench protocol, one table on stdout, JSON under
results/bench/ (``<module>.json`` per benchmark and ``summary.json``).

Each module of `MODULES` has ``run(quick=False) -> list[dict]`` (rows with the keys of
`benchrows.KEYS`). A module missing from this checkout gives one row saying so; a module that
raises gives one row with its error; neither stops the others.

    .venv/bin/python benchmarks/run_all.py [--only NAME ...] [--quick]
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import platform
import sys
import time
import traceback
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchrows import ROOT, row, table  # noqa: E402

#: The benchmarks, in the order they run (paper_step and bucketing measure the training step's speed).
MODULES = ("cli_latency", "thread_cliff", "paper_step", "bucketing", "grid")


def run_module(name: str, quick: bool) -> list[dict[str, Any]]:
    """The rows of benchmark `name`, or one row saying why there are none."""
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        return [row(name, "not run", math.nan, "", None, None,
                    f"benchmarks/{name}.py is not in this checkout")]  # fmt: skip
    try:
        return module.run(quick=quick)
    except Exception as exc:  # one broken benchmark must not hide the others
        traceback.print_exc()
        message = str(exc).splitlines()[0] if str(exc) else ""
        return [row(name, "failed", math.nan, "", None, False,
                    f"{type(exc).__name__}: {message}")]  # fmt: skip


def jsonable(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`rows` with non-finite values as null (JSON has no NaN)."""
    return [{**r, "value": r["value"] if math.isfinite(r["value"]) else None} for r in rows]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=MODULES, help="Run only these benchmarks.")
    parser.add_argument("--quick", action="store_true", help="Reduced sizes (a smoke test).")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "bench")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    os.chdir(ROOT)
    began = time.perf_counter()
    everything, seconds = [], {}
    for name in args.only or MODULES:
        start = time.perf_counter()
        rows = run_module(name, args.quick)
        seconds[name] = round(time.perf_counter() - start, 1)
        print(f"{name}: {seconds[name]:.0f} s", file=sys.stderr, flush=True)
        (args.out / f"{name}.json").write_text(json.dumps(jsonable(rows), indent=1) + "\n")
        everything += rows
    total = time.perf_counter() - began
    summary = {
        "rows": jsonable(everything),
        "seconds": seconds,
        "total_seconds": round(total, 1),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version(), "load_at_end": os.getloadavg()[0]},
        "quick": args.quick,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }  # fmt: skip
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(table(everything))
    print(f"\nmake bench: {total / 60:.1f} min; JSON in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Rows of `make bench` (docs/performance.md): one dict per measure, printed as a table; shared by
the benchmarks that `benchmarks/run_all.py` runs."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
KEYS = ("benchmark", "measure", "value", "unit", "target", "met", "note")


def row(
    benchmark: str,
    measure: str,
    value: float,
    unit: str,
    target: str | None = None,
    met: bool | None = None,
    note: str = "",
) -> dict[str, Any]:
    """One row with exactly the protocol's keys."""
    return dict(zip(KEYS, (benchmark, measure, float(value), unit, target, met, note), strict=True))


def fmt(value: float) -> str:
    if not math.isfinite(value):
        return str(value)
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def table(rows: list[dict[str, Any]]) -> str:
    """The rows as a fixed-width text table (met: yes / NO / -)."""
    cells = [("benchmark", "measure", "value", "target", "met", "note")]
    for r in rows:
        met = "-" if r["met"] is None else ("yes" if r["met"] else "NO")
        value = f"{fmt(r['value'])} {r['unit']}".strip()
        cells.append((r["benchmark"], r["measure"], value, r["target"] or "", met, r["note"]))
    widths = [max(len(c[i]) for c in cells) for i in range(5)]
    return "\n".join(
        "  ".join(c[i].ljust(widths[i]) for i in range(5)) + "  " + c[5] for c in cells
    ).rstrip()


def load_note() -> str:
    """``load 3.2 on 2 cores``: how busy the machine was (1-minute load average)."""
    return f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


def merbench_env(**extra: str) -> dict[str, str]:
    """The environment of a `merbench` child process running this checkout's code, offline."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
            "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "1", **extra}  # fmt: skip

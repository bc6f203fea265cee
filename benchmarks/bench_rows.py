"""Rows of the `make bench` protocol (one dict per measure) and a plain-text printout of them."""

from __future__ import annotations


def row(benchmark: str, measure: str, value: float, unit: str, target=None, met=None, note=""):
    """One row: `benchmark`, `measure`, `value` (float), `unit`, `target` (str or None), `met`
    (bool, or None when there is no target or it does not apply), `note`."""
    return {"benchmark": benchmark, "measure": measure, "value": float(value), "unit": unit,
            "target": target, "met": met, "note": note}  # fmt: skip


def print_rows(rows: list[dict]) -> None:
    for r in rows:
        met = "" if r["met"] is None else ("met" if r["met"] else "MISSED")
        print(f"{r['measure']:<40} {r['value']:>12.6g} {r['unit']:<10} {r['target'] or '':<8} "
              f"{met:<7} {r['note']}")  # fmt: skip

"""`make bench` (bench protocol): the runner's rows and JSON, a missing benchmark module reported
as a row, and the quick forms of the CLI-latency and thread-cliff benchmarks (keys and finite
values only: never a speed target in a test)."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH))

import benchrows  # noqa: E402
import run_all  # noqa: E402


def check_rows(rows: list[dict], benchmark: str) -> None:
    assert rows and all(tuple(r) == benchrows.KEYS for r in rows)
    assert {r["benchmark"] for r in rows} == {benchmark}
    assert all(math.isfinite(r["value"]) for r in rows)
    assert all(r["met"] is None or isinstance(r["met"], bool) for r in rows)
    assert all((r["met"] is None) == (r["target"] is None) for r in rows)


def test_a_missing_benchmark_is_one_row_and_the_json_is_written(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(run_all, "MODULES", ("no_such_bench",))
    assert run_all.main(["--out", str(tmp_path)]) == 0
    (only,) = json.loads((tmp_path / "no_such_bench.json").read_text())
    assert only == {"benchmark": "no_such_bench", "measure": "not run", "value": None, "unit": "",
                    "target": None, "met": None,
                    "note": "benchmarks/no_such_bench.py is not in this checkout"}  # fmt: skip
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["rows"] == [only] and set(summary["seconds"]) == {"no_such_bench"}


def test_the_table_says_met_yes_no_or_dash() -> None:
    rows = [benchrows.row("b", "m1", 0.25, "s", "< 0.5 s", True, "n"),
            benchrows.row("b", "m2", 3.0, "x", "<= 2.5x", False, ""),
            benchrows.row("b", "m3", 1234.5, "MiB")]  # fmt: skip
    lines = benchrows.table(rows).splitlines()
    assert lines[1].split() == ["b", "m1", "0.25", "s", "<", "0.5", "s", "yes", "n"]
    assert lines[2].split() == ["b", "m2", "3", "x", "<=", "2.5x", "NO"]
    assert lines[3].split() == ["b", "m3", "1,234", "MiB", "-"]


def test_cli_latency_quick() -> None:
    import cli_latency

    check_rows(cli_latency.run(quick=True), "cli-latency")


@pytest.mark.slow
def test_thread_cliff_quick() -> None:
    import thread_cliff

    rows = thread_cliff.run(quick=True)
    check_rows(rows, "thread-cliff")
    assert [r["measure"] for r in rows] == [
        "before: step alone", "before: beside a busy loop / alone",
        "after: step alone", "after: beside a busy loop / alone",
    ]  # fmt: skip
    assert "1 thread(s), OMP_WAIT_POLICY passive" in rows[2]["note"]

"""Smoke runs of the training-speed benchmarks (tiny sizes; no speed target is asserted)."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

KEYS = {"benchmark", "measure", "value", "unit", "target", "met", "note"}


def check_rows(rows: list[dict], benchmark: str) -> dict[str, dict]:
    assert rows and all(set(r) == KEYS and r["benchmark"] == benchmark for r in rows)
    assert all(math.isfinite(r["value"]) for r in rows)
    assert all(r["met"] is None or isinstance(r["met"], bool) for r in rows)
    return {r["measure"]: r for r in rows}


def test_paper_step_quick_rows(monkeypatch):
    import paper_step

    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: False)
    rows = check_rows(paper_step.run(quick=True, steps=1), "paper-step")
    assert rows["bf16 s/step"]["met"] is None and "not applicable" in rows["bf16 s/step"]["note"]
    assert rows["fp32 TFLOP/step"]["value"] > 0
    ratio = rows["reference / default step time"]
    assert ratio["value"] == pytest.approx(
        rows["reference s/step"]["value"] / rows["fp32 s/step"]["value"]
    )
    assert ratio["met"] == (ratio["value"] >= 4)


def test_bucketing_quick_rows():
    import bucketing

    rows = check_rows(bucketing.run(quick=True), "bucketing")
    fewer = rows["padded positions random / bucketed"]["value"]
    assert fewer == pytest.approx(
        rows["padded positions, random batches"]["value"]
        / rows["padded positions, bucketed"]["value"]
    )
    assert fewer > 2  # a count on a fixed seed, not a timing


def test_gpu_smoke_logic_on_the_cpu_and_its_message(capsys, monkeypatch):
    import gpu_smoke

    (line,) = gpu_smoke.smoke("cpu", ("fp32",), steps=2)
    assert line.startswith("fp32 -> fp32: 2 steps on cpu, autocast torch.float32, scaler off")
    with pytest.raises(AssertionError, match="batch: a tensor is on cpu, not cuda"):
        gpu_smoke.on_device(vars(gpu_smoke.padded_batch(2, "cpu", 0)).values(), "cuda", "batch")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert gpu_smoke.main() == 0
    assert "no CUDA GPU visible" in capsys.readouterr().out

"""The thread cliff (target: a competing process costs no more than 2.5x).

The same work, training steps of the `drkf` recipe's model (d 64, the CPU-scale DRKF of Table 4)
on fixed batches shaped like synth's (4 utterances, 40 audio frames of 25 eGeMAPS LLDs after
the adapter's stride, 14 MiniLM tokens), is timed alone and then beside a competing CPU-bound
process (a Python busy loop), in one process, so the ratio cancels the machine's noise. Two
settings, each in a fresh process (OpenMP reads its wait policy when torch loads):

- before: torch's default threads (one per core) and OpenMP's default waiting (threads spin);
- after: what merbench's local executor does now for a model this small: 1 thread, passive
  waiting (`merbench.env.set_threads`, ``OMP_WAIT_POLICY=passive``).

    .venv/bin/python benchmarks/thread_cliff.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

from benchrows import ROOT, load_note, merbench_env, row, table

TARGET = 2.5
BUSY = "while True: pass"


def workload(steps: int, budget: float = 15.0) -> float:
    """Seconds per training step: median of `steps` steps after 2 warm-up steps, or of those
    done within `budget` seconds (at least 3) when the machine is slow."""
    import statistics

    import torch

    from merbench.experiment.recipes import configurations
    from merbench.experiment.runner import model_factory
    from merbench.models.base import Batch
    from merbench.train.optim import make_optimiser

    torch.manual_seed(0)
    (conf,) = configurations(recipe="drkf")
    from merbench.experiment.resolved import ResolvedConfig

    config = conf.config.to_dict()
    config["components"]["adapter"]["frame_stride"] = 1  # the batch below is already strided
    config = ResolvedConfig.from_dict(config)
    model = model_factory(config)(25, 384, 4)
    optimiser = make_optimiser(model, config.train)
    lengths_a, lengths_t = [40, 33, 27, 38], [14, 11, 9, 13]
    audio_mask = torch.arange(40)[None, :] < torch.tensor(lengths_a)[:, None]
    text_mask = torch.arange(14)[None, :] < torch.tensor(lengths_t)[:, None]
    batch = Batch(torch.randn(4, 40, 25), audio_mask, torch.randn(4, 14, 384), text_mask,
                  torch.tensor([0, 1, 2, 3]), ["a", "b", "c", "d"])  # fmt: skip
    times: list[float] = []
    began = time.perf_counter()
    for step in range(steps + 2):
        if len(times) >= 3 and time.perf_counter() - began > budget:
            break
        start = time.perf_counter()
        losses = model.losses(batch)
        optimiser.zero_grad(set_to_none=True)
        losses["total"].backward()
        optimiser.step()
        if step >= 2:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def child(steps: int, threads: int) -> dict[str, float]:
    """In a fresh process: seconds per step alone, then beside a busy loop."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    alone = workload(steps)
    busy = subprocess.Popen([sys.executable, "-c", BUSY])
    try:
        time.sleep(0.5)  # the busy loop running
        beside = workload(steps)
    finally:
        busy.kill()
        busy.wait()
    return {"alone": alone, "beside": beside, "threads": torch.get_num_threads()}


def measure(steps: int, threads: int, policy: str | None) -> dict[str, float]:
    env = merbench_env()
    env.pop("OMP_WAIT_POLICY", None)
    env.pop("OMP_NUM_THREADS", None)
    if policy:
        env["OMP_WAIT_POLICY"] = policy
    code = (
        "import json, sys; sys.path.insert(0, 'benchmarks'); import thread_cliff; "
        f"print(json.dumps(thread_cliff.child({steps}, {threads})))"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True,
                         text=True, check=True)  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(quick: bool = False) -> list[dict[str, Any]]:
    steps = 3 if quick else 30
    rows = []
    for name, threads, policy in (("before", 0, None), ("after", 1, "passive")):
        m = measure(steps, threads, policy)
        ratio = m["beside"] / m["alone"]
        how = (f"{m['threads']:.0f} thread(s), OMP_WAIT_POLICY {policy or 'unset'}; median of "
               f"up to {steps} steps (15 s each phase); {load_note()}")  # fmt: skip
        rows.append(
            row("thread-cliff", f"{name}: step alone", m["alone"] * 1e3, "ms", None, None, how)
        )  # noqa: E501
        met = ratio <= TARGET if name == "after" else None
        miss = "" if met in (None, True) else f"; misses by {ratio - TARGET:.2f}x"
        rows.append(row("thread-cliff", f"{name}: beside a busy loop / alone", ratio, "x",
                        f"<= {TARGET}x" if name == "after" else None, met,
                        f"same process, same steps{miss}"))  # fmt: skip
    return rows


if __name__ == "__main__":
    os.chdir(ROOT)
    print(table(run()))

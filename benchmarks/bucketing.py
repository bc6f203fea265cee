"""Length-bucketed batches against random batches: one training epoch.

An IEMOCAP-like corpus of `n` utterances (durations lognormal, median 3.5 s, sigma 0.6, clipped
to 1-25 s; eGeMAPS-shaped audio features at 100 frames/s, cropped to `max_frames` 1024 as
`train_one` does, MiniLM-shaped text at 2.5 tokens/s + 2) and the `drkf` recipe (CPU scale: PCMI,
self fusion, ED over the M^2 pairs, batch 4). One epoch each way, in this process, same model
initialisation and seed: batches by `merbench.train.sampler` (``length_buckets`` on) against a
random permutation padded to the longest of each batch (off). Reported: padded positions (audio
frames + text tokens of the padded batches), epoch seconds (forward, backward, AdamW, batch
building), and the two ratios (targets: >= 2x fewer padded positions, >= 1.7x faster).

    PYTHONPATH=. .venv/bin/python benchmarks/bucketing.py          # ~1-2 min on 2 quiet cores
    PYTHONPATH=. .venv/bin/python benchmarks/bucketing.py --quick  # 48 utterances
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchrows  # noqa: E402

BENCHMARK = "bucketing"
LABELS = ("neutral", "happy", "sad", "angry")


class ArrayFeatures(dict):
    """In-memory feature entry: ``feats[id] -> [T, d]`` and ``dim``."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim


def corpus(n: int, seed: int = 0):
    """A corpus of `n` IEMOCAP-like utterances with random features of realistic lengths."""
    import numpy as np

    from merbench.data.base import Corpus, Protocol, Split, Utterance

    rng = np.random.default_rng(seed)
    seconds = np.clip(rng.lognormal(np.log(3.5), 0.6, n), 1.0, 25.0)
    audio, text, utts = ArrayFeatures(25), ArrayFeatures(384), []
    for k, sec in enumerate(seconds):
        uid = f"u{k:05d}"
        audio[uid] = rng.normal(size=(int(sec * 100), 25)).astype(np.float16)
        text[uid] = rng.normal(size=(int(sec * 2.5) + 2, 384)).astype(np.float16)
        utts.append(Utterance(uid, f"s{k % 10}", "g", "x", None, LABELS[k % 4]))
    ids = tuple(u.id for u in utts)
    split = Split("all", ids, ids[:4], ids[:4])
    protocol = Protocol(LABELS, (split,), ("ua",), "benchmark corpus")
    return Corpus("lognormal", utts, protocol), audio, text, seconds


def epoch(data, buckets: bool) -> tuple[float, int, int]:
    """(seconds, padded positions, real positions) of one epoch of the drkf recipe."""
    import numpy as np
    import torch

    from merbench.experiment.recipes import load_recipe, resolve
    from merbench.experiment.runner import model_factory
    from merbench.train.batches import BatchMaker
    from merbench.train.optim import make_optimiser
    from merbench.train.precision import Precision

    corp, audio, text, _ = data
    config = resolve(load_recipe("drkf"))
    train = config.train
    maker = BatchMaker(corp, audio, text, train.max_frames, train.max_tokens, buckets=buckets)
    torch.manual_seed(0)
    model = model_factory(config)(audio.dim, text.dim, len(LABELS)).train()
    optimiser = make_optimiser(model, train)
    fp32 = Precision("fp32", "cpu")
    padded = real = 0
    started = time.perf_counter()
    for batch in maker.batches(
        corp.protocol.splits[0].train, train.batch_size, np.random.default_rng(0)
    ):
        masks = torch.cat([batch.audio_mask.flatten(), batch.text_mask.flatten()])
        padded, real = padded + int((~masks).sum()), real + int(masks.sum())
        if len(batch) < 2:
            continue
        losses = model.losses(batch)
        optimiser.zero_grad(set_to_none=True)
        fp32.step(losses["total"], optimiser, model.parameters(), train.grad_clip)
    return time.perf_counter() - started, padded, real


def row(measure: str, value: float, unit: str, target=None, met=None, note: str = "") -> dict:
    return benchrows.row(BENCHMARK, measure, value, unit, target, met, note)


def run(quick: bool = False, n: int = 800) -> list[dict]:
    """Rows of item 3 (see the module docstring); `quick` = 48 utterances for smoke tests."""
    import torch

    n = 48 if quick else n
    data = corpus(n)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a CPU-scale model: 1 thread (2 gain nothing and suffer beside load)
    try:
        random_s, random_pad, real = epoch(data, buckets=False)
        bucket_s, bucket_pad, real_b = epoch(data, buckets=True)
    finally:
        torch.set_num_threads(threads)
    assert real == real_b  # the same utterances, each once
    fewer, faster = random_pad / max(bucket_pad, 1), random_s / bucket_s
    # what a model whose cost is linear in positions could gain at most: all positions computed
    bound = (real + random_pad) / (real + bucket_pad)
    how = (f"{n} utterances, lognormal 1-25 s, drkf recipe, batch 4, one epoch each, "
           "1 torch thread")  # fmt: skip
    return [
        row("padded positions, random batches", random_pad, "positions", None, None,
            f"real positions {real}; {how}"),
        row("padded positions, bucketed", bucket_pad, "positions", None, None, how),
        row("padded positions random / bucketed", fewer, "x", ">= 2", fewer >= 2,
            "" if fewer >= 2 else f"missed by {2 - fewer:.2f}x"),
        row("epoch s, random batches", random_s, "s", None, None, how),
        row("epoch s, bucketed", bucket_s, "s", None, None, how),
        row("epoch time random / bucketed", faster, "x", ">= 1.7", faster >= 1.7,
            f"positions computed, random / bucketed: {bound:.2f}x (the gain of a cost linear in "
            "positions)" + ("" if faster >= 1.7 else f"; missed by {1.7 - faster:.2f}x")),
    ]  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="48 utterances (smoke test)")
    parser.add_argument("-n", type=int, default=800, help="utterances in the epoch")
    args = parser.parse_args()
    print(benchrows.table(run(args.quick, args.n)))

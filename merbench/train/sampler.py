"""Length-bucketed batch order: utterances of similar length share a batch, still shuffled.

`bucketed_batches(lengths, batch_size, rng)`: the index lists of one epoch's batches. The indices
are shuffled with `rng`, cut into pools of `pool` batches, each pool sorted by length (stable) and
cut into batches, and the batches shuffled with `rng`: every index appears exactly once, the same
`rng` state gives the same batches, and a batch pads to the longest of a few similar lengths
instead of the longest of a random draw. Without `rng` (evaluation) the order is by length,
longest first, deterministic. `padded_positions` counts what padding to the longest costs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def bucketed_batches(
    lengths: Sequence[int], batch_size: int, rng: np.random.Generator | None, pool: int = 50
) -> list[list[int]]:
    """Batches (lists of indices into `lengths`) grouped by length, shuffled with `rng`."""
    sizes = np.asarray(lengths)
    if rng is None:
        order = np.argsort(-sizes, kind="stable")
        return [order[s : s + batch_size].tolist() for s in range(0, len(order), batch_size)]
    order = rng.permutation(len(sizes))
    size = batch_size * pool
    batches: list[list[int]] = []
    for start in range(0, len(order), size):
        chunk = order[start : start + size]
        chunk = chunk[np.argsort(sizes[chunk], kind="stable")]
        batches += [chunk[s : s + batch_size].tolist() for s in range(0, len(chunk), batch_size)]
    return [batches[k] for k in rng.permutation(len(batches))]


def random_batches(n: int, batch_size: int, rng: np.random.Generator | None) -> list[list[int]]:
    """Unbucketed batches: a permutation by `rng` (in order without it), cut into batches."""
    order = np.arange(n) if rng is None else rng.permutation(n)
    return [order[s : s + batch_size].tolist() for s in range(0, n, batch_size)]


def padded_positions(lengths: Sequence[int], batches: list[list[int]]) -> int:
    """Positions added by padding each batch to its longest member."""
    sizes = np.asarray(lengths)
    return int(sum(len(b) * sizes[b].max() - sizes[b].sum() for b in batches))

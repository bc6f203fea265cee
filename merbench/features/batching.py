"""Length bucketing for extraction: sort inputs by length and cut batches to a memory budget.

Sorting puts utterances of similar length together, so padding wastes little; each batch is as
large as the encoder's own memory estimate (`Encoder.batch_bytes`) allows within the budget, up to
`max_batch` inputs. An input alone over the budget is a batch of one (nothing smaller exists).
"""

from __future__ import annotations

from collections.abc import Callable

BatchBytes = Callable[[list[int]], int]


def plan_batches(
    lengths: list[int], batch_bytes: BatchBytes, budget: int, max_batch: int
) -> list[list[int]]:
    """Batches of indices into `lengths`, longest first, each within `budget` bytes.

    Every index appears in exactly one batch; within a batch indices are sorted by decreasing length.
    """
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    return split_to_budget(order, lengths, batch_bytes, budget, max_batch)


def split_to_budget(
    order: list[int],
    lengths: list[int],
    batch_bytes: BatchBytes,
    budget: int,
    max_batch: int = 1 << 30,
) -> list[list[int]]:
    """Cut the sequence `order` (indices into `lengths`) into consecutive batches within `budget`."""
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        candidate = current + [i]
        fits = (
            len(candidate) <= max_batch and batch_bytes([lengths[j] for j in candidate]) <= budget
        )
        if current and not fits:
            batches.append(current)
            current = [i]
        else:
            current = candidate
    if current:
        batches.append(current)
    return batches

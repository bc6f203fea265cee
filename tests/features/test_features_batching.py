"""Length bucketing: longest first, each batch within the memory budget and the batch cap."""

from __future__ import annotations

from merbench.features.batching import plan_batches


def padded(lengths: list[int]) -> int:
    return len(lengths) * max(lengths)  # padded size in units, 1 byte per unit


def test_batches_by_hand() -> None:
    # sorted: 8 (i4), 5 (i0), 3 (i2), 3 (i3), 1 (i1); budget 10 units
    assert plan_batches([5, 1, 3, 3, 8], padded, budget=10, max_batch=3) == [[4], [0, 2], [3, 1]]
    assert plan_batches([5, 1, 3, 3, 8], padded, budget=100, max_batch=2) == [[4, 0], [2, 3], [1]]


def test_an_input_over_the_budget_is_a_batch_of_one_and_every_index_appears_once() -> None:
    lengths = [50, 2, 2, 2, 2, 40]
    batches = plan_batches(lengths, padded, budget=10, max_batch=16)
    assert batches == [[0], [5], [1, 2, 3, 4]]
    assert sorted(i for b in batches for i in b) == list(range(6))
    assert plan_batches([], padded, budget=10, max_batch=4) == []

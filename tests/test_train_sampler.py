"""Length-bucketed batches (`merbench.train.sampler`): seeded, complete, and less padding."""

from __future__ import annotations

import numpy as np

from merbench.train.sampler import bucketed_batches, padded_positions, random_batches


def lognormal_lengths(n: int = 2000, seed: int = 0) -> np.ndarray:
    """IEMOCAP-like durations (lognormal, clipped to 1-25 s) as 50 Hz frame counts."""
    rng = np.random.default_rng(seed)
    seconds = np.clip(rng.lognormal(np.log(4.0), 0.6, n), 1.0, 25.0)
    return (seconds * 50).astype(int)


def test_same_seed_same_batches_other_seed_other_batches():
    lengths = lognormal_lengths(300)
    first = bucketed_batches(lengths, 16, np.random.default_rng(7))
    assert first == bucketed_batches(lengths, 16, np.random.default_rng(7))
    assert first != bucketed_batches(lengths, 16, np.random.default_rng(8))
    rng = np.random.default_rng(7)  # consecutive epochs of one run differ
    assert bucketed_batches(lengths, 16, rng) != bucketed_batches(lengths, 16, rng)


def test_every_utterance_exactly_once_per_epoch():
    lengths = lognormal_lengths(203)
    for rng in (np.random.default_rng(0), None):
        batches = bucketed_batches(lengths, 16, rng, pool=4)
        flat = [i for b in batches for i in b]
        assert sorted(flat) == list(range(203))
        assert sorted(len(b) for b in batches) == [11] + [16] * 12
    evaluation = bucketed_batches([3, 9, 1, 9, 5], 2, None)
    assert evaluation == [[1, 3], [4, 0], [2]]  # longest first, stable


def test_padding_on_a_hand_built_example():
    lengths = [1, 9, 2, 8]
    batches = bucketed_batches(lengths, 2, np.random.default_rng(0))
    assert sorted(map(sorted, batches)) == [[0, 2], [1, 3]]
    assert padded_positions(lengths, batches) == 2  # (2 - 1) + (9 - 8)
    assert padded_positions(lengths, [[0, 1], [2, 3]]) == 8 + 6


def test_bucketing_cuts_padding_on_lognormal_lengths():
    lengths = lognormal_lengths()
    bucketed = padded_positions(lengths, bucketed_batches(lengths, 32, np.random.default_rng(0)))
    shuffled = padded_positions(lengths, random_batches(len(lengths), 32, np.random.default_rng(0)))
    real = int(lengths.sum())
    assert shuffled > 0.9 * real  # random batches: about as much padding as real frames
    assert bucketed < 0.1 * shuffled  # buckets of similar length: 4% of it (37193 vs 923513)

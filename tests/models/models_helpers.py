"""Helpers for the model tests: small padded random batches."""

from __future__ import annotations

import torch

from merbench.models.base import Batch


def random_batch(
    m: int = 8,
    ta: int = 40,
    tt: int = 8,
    da: int = 25,
    dt: int = 384,
    num_classes: int = 4,
    separation: float = 0.0,
    seed: int = 0,
) -> Batch:
    """A padded batch with random lengths (at least a third of the maximum) and labels 0..C-1 in
    turn; `separation` shifts every feature by ``separation * label`` so the classes separate."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(m) % num_classes
    la = torch.randint(max(1, ta // 3), ta + 1, (m,), generator=g)
    lt = torch.randint(max(1, tt // 3), tt + 1, (m,), generator=g)
    audio_mask = torch.arange(ta)[None] < la[:, None]
    text_mask = torch.arange(tt)[None] < lt[:, None]
    shift = separation * labels.float()[:, None, None]
    audio = (torch.randn(m, ta, da, generator=g) + shift) * audio_mask[..., None]
    text = (torch.randn(m, tt, dt, generator=g) + shift) * text_mask[..., None]
    return Batch(audio, audio_mask, text, text_mask, labels, [f"u{i}" for i in range(m)])

"""A gated fusion encoder registered on merbench's `fusions` axis as ``gated``.

z = g * a + (1 - g) * t, with a and t the masked-mean pooled modalities and
g = sigmoid(W [a; t]) a per-dimension gate.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from merbench.models.base import FusionEncoder, masked_mean
from merbench.registry import FUSIONS


@dataclass
class GatedFusionConfig:
    dropout: float = 0.1  # dropout on the fused vector


@FUSIONS.register("gated", config=GatedFusionConfig)
class GatedFusion(FusionEncoder):
    """Per-dimension gate between the pooled audio and text vectors -> ``[M, d]``."""

    def __init__(self, config: GatedFusionConfig, d: int) -> None:
        super().__init__()
        self.gate = nn.Linear(2 * d, d)
        self.dropout = nn.Dropout(config.dropout)
        self.out_dim = d

    def forward(self, audio: Tensor, audio_mask: Tensor, text: Tensor, text_mask: Tensor) -> Tensor:
        a, t = masked_mean(audio, audio_mask), masked_mean(text, text_mask)
        g = torch.sigmoid(self.gate(torch.cat([a, t], dim=-1)))
        return self.dropout(g * a + (1 - g) * t)

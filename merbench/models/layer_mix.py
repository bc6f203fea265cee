"""A learnable weighted sum of an encoder's hidden layers (the SUPERB featuriser), trained with the
model: softmax weights over the ``K`` hidden states an encoder stacks side by side in each frame
(``hf`` encoders with ``layer = "learned"``: ``[T, K * d]``).

`LayerMixModel` wraps any `MERModel`: it mixes the stacked audio and/or text features of each
batch into ``[T, d]`` and hands the batch on, so every model and adapter works unchanged.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import Tensor, nn

from merbench.models.base import Batch, MERModel


class LayerMix(nn.Module):
    """``forward(x [M, T, K * d]) -> [M, T, d]``: ``sum_k softmax(w)_k x[..., k, :]``.

    The weights start equal (``w = 0``: the average of the layers) and train with the head.
    """

    def __init__(self, layers: int) -> None:
        super().__init__()
        self.layers = layers
        self.logits = nn.Parameter(torch.zeros(layers))

    def weights(self) -> Tensor:
        """The current softmax weights ``[K]`` (they sum to 1)."""
        return torch.softmax(self.logits, dim=0)

    def forward(self, x: Tensor) -> Tensor:
        m, t, width = x.shape
        stacked = x.reshape(m, t, self.layers, width // self.layers)
        return torch.einsum("mtkd,k->mtd", stacked, self.weights().to(x.dtype))


class LayerMixModel(MERModel):
    """`inner` on batches whose audio (`audio_layers` > 1) and/or text (`text_layers` > 1)
    features are stacked hidden states, mixed by a `LayerMix` each before `inner` sees them."""

    def __init__(self, inner: MERModel, audio_layers: int = 1, text_layers: int = 1) -> None:
        super().__init__()
        self.inner = inner
        self.main_losses = inner.main_losses
        self.absent_modality = inner.absent_modality
        self.audio_mix = LayerMix(audio_layers) if audio_layers > 1 else None
        self.text_mix = LayerMix(text_layers) if text_layers > 1 else None

    def mixed(self, batch: Batch) -> Batch:
        """`batch` with its stacked features replaced by their weighted sums."""
        changes = {}
        if self.audio_mix is not None:
            changes["audio"] = self.audio_mix(batch.audio)
        if self.text_mix is not None:
            changes["text"] = self.text_mix(batch.text)
        return dataclasses.replace(batch, **changes)

    def shared_parameters(self) -> list[nn.Parameter]:
        mixes = [m for m in (self.audio_mix, self.text_mix) if m is not None]
        return list(self.inner.shared_parameters()) + [m.logits for m in mixes]

    def losses(self, batch: Batch) -> dict[str, Tensor]:
        return self.inner.losses(self.mixed(batch))

    def logits(self, batch: Batch) -> Tensor:
        return self.inner.logits(self.mixed(batch))

    def embed(self, batch: Batch) -> Tensor:
        return self.inner.embed(self.mixed(batch))

    def logits_absent(self, batch: Batch, modality: str) -> Tensor:
        return self.inner.logits_absent(self.mixed(batch), modality)

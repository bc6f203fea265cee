"""Base classes of the model axes (adapters, augmentations, fusion encoders, heads, models).

Every plugin on these axes is a ``torch.nn.Module`` built as ``Plugin(config, *runtime)`` by
`merbench.registry.build`; its docstring states its contract with shapes. Shapes used throughout:
M utterances in a batch, audio ``[M, Ta, d]`` with mask ``[M, Ta]`` (True = real frame), text
``[M, Tt, d]`` with mask ``[M, Tt]``, labels ``[M]`` (class indices).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn


@dataclass
class Batch:
    """A padded batch of cached features.

    `audio` ``[M, Ta, da]`` float, `audio_mask` ``[M, Ta]`` bool, `text` ``[M, Tt, dt]``,
    `text_mask` ``[M, Tt]``, `labels` ``[M]`` long (or ``[M, C]`` float for multi-label),
    `ids` the utterance ids in order. For adapters with ``raw_inputs`` (``--finetune``) `audio`
    is instead waveforms ``[M, N]`` and `text` token ids ``[M, Tt]`` long (`merbench.train.raw`).
    `class_weights` ``[C]``: the weight of each class in the classification loss of a training
    batch (None: unweighted; set by training from ``train.class_weight``).
    """

    audio: Tensor
    audio_mask: Tensor
    text: Tensor
    text_mask: Tensor
    labels: Tensor
    ids: list[str] = field(default_factory=list)
    class_weights: Tensor | None = None

    def to(self, device: str | torch.device) -> Batch:
        weights = self.class_weights
        return Batch(
            self.audio.to(device),
            self.audio_mask.to(device),
            self.text.to(device),
            self.text_mask.to(device),
            self.labels.to(device),
            self.ids,
            None if weights is None else weights.to(device),
        )

    def __len__(self) -> int:
        return self.labels.shape[0]

    @classmethod
    def random(cls, m: int, ta: int, tt: int, da: int, dt: int, seed: int = 0) -> Batch:
        """Standard-normal features of the given shapes, every frame real, labels 0..M-1 mod 4
        (for measurements at a given scale, e.g. the paper's: 4, 349, 32, 1024, 1024)."""
        g = torch.Generator().manual_seed(seed)
        return cls(
            torch.randn(m, ta, da, generator=g), torch.ones(m, ta, dtype=torch.bool),
            torch.randn(m, tt, dt, generator=g), torch.ones(m, tt, dtype=torch.bool),
            torch.arange(m) % 4,
        )  # fmt: skip


def masked_mean(x: Tensor, mask: Tensor) -> Tensor:
    """Mean of `x` ``[M, T, d]`` over the frames where `mask` ``[M, T]`` is True -> ``[M, d]``."""
    weights = mask.to(x.dtype).unsqueeze(-1)
    return (x * weights).sum(1) / weights.sum(1).clamp_min(1.0)


def mean_std(x: Tensor, mask: Tensor) -> Tensor:
    """Mean and standard deviation (population) over the real frames of `x` ``[M, T, d]`` ->
    ``[M, 2d]`` (mean first)."""
    mean = masked_mean(x, mask)
    var = masked_mean((x - mean.unsqueeze(1)).pow(2), mask)
    return torch.cat([mean, var.clamp_min(1e-12).sqrt()], -1)


def mean_std_min_max(x: Tensor, mask: Tensor) -> Tensor:
    """`mean_std` followed by the minimum and maximum over the real frames: ``[M, T, d] ->
    [M, 4d]`` (an utterance without a real frame gets 0 for both)."""
    real = mask.unsqueeze(-1)
    low = x.masked_fill(~real, float("inf")).amin(1)
    high = x.masked_fill(~real, float("-inf")).amax(1)
    empty = ~mask.any(1, keepdim=True)
    low, high = low.masked_fill(empty, 0.0), high.masked_fill(empty, 0.0)
    return torch.cat([mean_std(x, mask), low, high], -1)


class Adapter(nn.Module):
    """Trainable part of the bimodal encoder: ``forward(x [M,T,d_in], mask) -> [M,T',d]``.

    Built as ``Adapter(config, d_in, d)`` or ``Adapter(config, d_in, d, modality)`` with `modality`
    ``"audio"`` (default) or ``"text"``. An adapter may shorten the sequence (audio frame pooling);
    ``output_mask(mask [M,T]) -> [M,T']`` gives the mask of its output (identity by default).
    An adapter whose class sets ``raw_inputs = True`` reads raw waveforms and token ids instead
    of cached features; runs with it bypass the feature store (``--finetune``).
    """

    def output_mask(self, mask: Tensor) -> Tensor:
        return mask


class Augmentation(nn.Module):
    """Representation-learning objective on adapter outputs (axis `augmentation`).

    Built as ``Augmentation(config, d, num_classes)``. ``forward(audio, audio_mask, text, text_mask,
    labels)`` returns ``(audio_for_fusion, text_for_fusion, losses)``: the sequences the fusion encoder
    receives (augmented or passed through, as the variant says) and a dict of named, already weighted
    loss terms (empty for ``none``). Called only in training.

    ``fusion_inputs(audio, audio_mask, text, text_mask) -> (audio, text)``: what the fusion encoder
    receives at inference, the same transformation `forward` applies in training (no losses, no
    randomness): the fusion encoder must see at test time what it was trained on. Identity by
    default (objectives that act only through their losses).

    Optional (additive): an augmentation that needs views of the *inputs* passed through the same
    adapters (cmie) returns them from ``input_views(batch) -> list[Batch]``; the model then adapts
    each view and calls ``forward(..., views=[(audio, audio_mask, text, text_mask), ...])``.
    The default returns no views and ``forward`` is called without `views`.
    """

    def input_views(self, batch: Batch) -> list[Batch]:
        return []

    def fusion_inputs(
        self, audio: Tensor, audio_mask: Tensor, text: Tensor, text_mask: Tensor
    ) -> tuple[Tensor, Tensor]:
        return audio, text


class FusionEncoder(nn.Module):
    """Fuses the two modalities into one vector (axis `fusion`).

    Built as ``FusionEncoder(config, d)``; ``forward(audio [M,Ta,d], audio_mask, text [M,Tt,d],
    text_mask) -> [M, out_dim]``; attribute `out_dim`. `modalities` names what it reads (a
    unimodal fusion reads one; planning uses it to run audio-only recipes on speech-only corpora).
    """

    out_dim: int
    modalities: tuple[str, ...] = ("audio", "text")


class Head(nn.Module):
    """A classifier on a fused vector (EC: emotion classes; ED: same/different emotion).

    Built as ``Head(config, in_dim, out_dim)``; ``forward(z [M, in_dim]) -> logits [M, out_dim]``.
    """


class MERModel(nn.Module):
    """A whole model (axis `models`): DRKF and its ablations, FDRL, baselines.

    Built as ``Model(config, spec)`` with `spec` a `ModelSpec` (input widths, number of classes, and
    the resolved sub-configs of the axes it uses). Contract:

    - ``losses(batch) -> dict[str, Tensor]``: named scalar loss terms, each already weighted, plus
      ``"total"``, their sum; used in training only.
    - ``logits(batch) -> Tensor [M, C]``: the inference path (no augmentation, no pairs).
    - ``embed(batch) -> Tensor [M, D]``: the fused representation (for t-SNE plots).
    - ``shared_parameters()``: the parameters every loss term is meant to shape (default: all
      trainable ones; DRKF: the adapters and the fusion encoder). The trainer logs each term's
      share of the gradient norm on them (`merbench.train.balance`).
    - `main_losses`: the names of the main (task) terms; every other term is auxiliary, and an
      auxiliary term carrying > 90% of that gradient norm is reported.
    """

    main_losses: tuple[str, ...] = ("ec", "task")
    #: What the model does with a modality absent at test time (``--perturb drop=audio|text``):
    #: ``zeros`` (it is fed one all-zero frame in the modality's place, through the same path
    #: as real input), ``skip`` (``logits_absent`` leaves the modality's branch out) or
    #: ``learned`` (``logits_absent`` puts a learned token in its place).
    absent_modality: str = "zeros"

    def shared_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.parameters() if p.requires_grad]

    def losses(self, batch: Batch) -> dict[str, Tensor]:  # pragma: no cover - abstract
        raise NotImplementedError

    def logits(self, batch: Batch) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def embed(self, batch: Batch) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def logits_absent(self, batch: Batch, modality: str) -> Tensor:
        """Logits ``[M, C]`` with `modality` (``audio`` or ``text``) absent, for a model whose
        `absent_modality` is ``skip`` or ``learned`` (its features in `batch` are not read)."""
        raise NotImplementedError(f"{type(self).__name__} declares absent_modality = zeros")


@dataclass
class ModelSpec:
    """What a model needs to know at build time beyond its own config.

    `components` maps a role (``adapter``, ``augmentation``, ``fusion``, ...) to its resolved
    `merbench.registry.Component` (what the experiment layer passes: built as it is), or to
    ``(plugin name, overrides dict)`` (validated when the model is built); a role left out gets
    its default plugin (`merbench.models.adapted.component`).
    """

    audio_dim: int
    text_dim: int
    num_classes: int
    components: dict[str, Any] = field(default_factory=dict)  # role -> Component | (name, dict)
    multilabel: bool = False

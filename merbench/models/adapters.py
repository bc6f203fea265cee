"""Adapters: the trainable part of the bimodal encoder (axis `adapters`).

merbench keeps the backbones frozen and cached; an adapter maps a cached sequence ``[M, T, d_in]``
to the common width ``d`` and plays the part of the fine-tuned encoder of the paper (docs/design.md,
"BME"). Every adapter is built as ``Adapter(config, d_in, d, modality)`` with ``modality`` in
``{"audio", "text"}``; ``forward(x, mask) -> [M, T', d]`` and ``output_mask(mask) -> [M, T']``:
audio adapters may pool frames by ``frame_stride`` (T' = ceil(T / stride)).

- ``linear``: optional input normalisation, Linear(d_in, d), dropout, LayerNorm.
- ``transformer``: ``linear`` followed by N Transformer encoder layers (key padding mask).
- ``hf-finetune``: a Hugging Face backbone trained end to end on raw waveforms / token ids (the
  ``--finetune`` path: `merbench.train.raw` feeds it, the feature store is bypassed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn

from merbench.errors import UserError
from merbench.models.attention import encode
from merbench.models.base import Adapter
from merbench.registry import ADAPTERS

Modality = Literal["audio", "text"]


def pool_frames(x: Tensor, mask: Tensor, stride: int) -> tuple[Tensor, Tensor]:
    """Average-pool `x` ``[M, T, d]`` over windows of `stride` frames, counting real frames only.

    Returns ``(pooled [M, ceil(T/stride), d], mask [M, ceil(T/stride)])``: a window is real when it
    holds at least one real frame, and its value is the mean of its real frames (padding never
    leaks into a real window). ``stride <= 1`` returns the inputs unchanged.
    """
    if stride <= 1:
        return x, mask
    m, t, d = x.shape
    pad = (-t) % stride
    w = mask.to(x.dtype)
    if pad:
        x = torch.cat([x, x.new_zeros(m, pad, d)], dim=1)
        w = torch.cat([w, w.new_zeros(m, pad)], dim=1)
    x = x.reshape(m, -1, stride, d)
    w = w.reshape(m, -1, stride)
    count = w.sum(-1)  # [M, T']
    pooled = (x * w.unsqueeze(-1)).sum(2) / count.clamp_min(1.0).unsqueeze(-1)
    return pooled, count > 0


class MaskedFeatureNorm(nn.Module):
    """Per-feature standardisation with statistics over real frames only (a masked BatchNorm).

    Cached acoustic features mix scales (eGeMAPS: loudness ~1, formants ~1000 Hz); this brings
    each input dimension to zero mean and unit variance using batch statistics in training and
    running estimates (momentum 0.1) in evaluation. ``forward(x [M,T,d], mask [M,T]) -> [M,T,d]``.
    """

    running_mean: Tensor  # [d], buffers registered in __init__
    running_var: Tensor  # [d]
    initialised: Tensor  # [] bool

    def __init__(self, dim: int, momentum: float = 0.1, eps: float = 1e-5) -> None:
        super().__init__()
        self.momentum, self.eps = momentum, eps
        self.register_buffer("running_mean", torch.zeros(dim))
        self.register_buffer("running_var", torch.ones(dim))
        self.register_buffer("initialised", torch.zeros((), dtype=torch.bool))

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        if self.training:
            real = x[mask]  # [N, d]
            if real.shape[0] > 1:
                mean = real.mean(0)
                var = real.var(0, unbiased=False)
                with torch.no_grad():
                    if not bool(self.initialised):
                        self.running_mean.copy_(mean)
                        self.running_var.copy_(var)
                        self.initialised.fill_(True)
                    else:
                        self.running_mean.lerp_(mean, self.momentum)
                        self.running_var.lerp_(var, self.momentum)
            else:
                mean, var = self.running_mean, self.running_var
        else:
            mean, var = self.running_mean, self.running_var
        return (x - mean) / torch.sqrt(var + self.eps)


@dataclass
class LinearAdapterConfig:
    """Config of the ``linear`` adapter.

    `dropout` after the projection; `input_norm`: ``batch`` standardises every input feature over
    the real frames of the batch (running stats at eval), ``layer`` is a LayerNorm over the input
    features, ``none`` passes them as they are; `frame_stride` average-pools audio frames by this
    stride before the projection (eGeMAPS LLDs are 100 frames/s; 4 gives 25 frames/s and makes
    attention over long utterances affordable on CPU; 1 = off; text is never pooled).
    """

    dropout: float = 0.1
    input_norm: Literal["batch", "layer", "none"] = "batch"
    frame_stride: int = 4


@ADAPTERS.register("linear", config=LinearAdapterConfig)
class LinearAdapter(Adapter):
    """Optional input normalisation, Linear(d_in, d), dropout, LayerNorm, applied per frame.

    ``forward(x [M,T,d_in], mask [M,T]) -> y [M,T',d]``, ``output_mask(mask) -> [M,T']``;
    T' = ceil(T / frame_stride) for audio, T for text. Padded frames of the output are zeroed.
    """

    def __init__(
        self, config: LinearAdapterConfig, d_in: int, d: int, modality: Modality = "audio"
    ):
        super().__init__()
        if config.frame_stride < 1:
            raise UserError(f"adapters/linear.frame_stride must be >= 1, got {config.frame_stride}")
        self.config, self.modality = config, modality
        self.stride = config.frame_stride if modality == "audio" else 1
        self.norm_in: nn.Module | None
        if config.input_norm == "batch":
            self.norm_in = MaskedFeatureNorm(d_in)
        elif config.input_norm == "layer":
            self.norm_in = nn.LayerNorm(d_in, elementwise_affine=False)
        else:
            self.norm_in = None
        self.proj = nn.Linear(d_in, d)
        self.dropout = nn.Dropout(config.dropout)
        self.norm = nn.LayerNorm(d)

    def output_mask(self, mask: Tensor) -> Tensor:
        if self.stride <= 1:
            return mask
        return pool_frames(mask.unsqueeze(-1).float(), mask, self.stride)[1]

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        x, mask = pool_frames(x.float(), mask, self.stride)
        if isinstance(self.norm_in, MaskedFeatureNorm):
            x = self.norm_in(x, mask)
        elif self.norm_in is not None:
            x = self.norm_in(x)
        y = self.norm(self.dropout(self.proj(x)))
        return y * mask.unsqueeze(-1).to(y.dtype)


@dataclass
class TransformerAdapterConfig(LinearAdapterConfig):
    """Config of the ``transformer`` adapter: the ``linear`` options plus the encoder layers.

    `layers` Transformer encoder layers (post-norm, GELU) of `heads` heads and FFN width
    ``ffn_mult * d``, with learned absolute positions up to `max_positions`.
    """

    layers: int = 1
    heads: int = 4
    ffn_mult: int = 4
    max_positions: int = 2800


@ADAPTERS.register("transformer", config=TransformerAdapterConfig)
class TransformerAdapter(Adapter):
    """``linear`` adapter followed by Transformer encoder layers with a key padding mask.

    ``forward(x [M,T,d_in], mask [M,T]) -> y [M,T',d]``; ``output_mask`` as for ``linear``.
    """

    def __init__(
        self, config: TransformerAdapterConfig, d_in: int, d: int, modality: Modality = "audio"
    ):
        super().__init__()
        self.linear = LinearAdapter(config, d_in, d, modality)
        self.pos = nn.Embedding(config.max_positions, d)
        layer = nn.TransformerEncoderLayer(
            d, config.heads, config.ffn_mult * d, config.dropout, "gelu", batch_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, config.layers, enable_nested_tensor=False)
        self.max_positions = config.max_positions

    def output_mask(self, mask: Tensor) -> Tensor:
        return self.linear.output_mask(mask)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        y = self.linear(x, mask)
        mask = self.linear.output_mask(mask)
        t = y.shape[1]
        if t > self.max_positions:
            raise UserError(
                f"adapters/transformer: sequence of {t} frames exceeds max_positions="
                f"{self.max_positions}; raise it or frame_stride"
            )
        y = y + self.pos(torch.arange(t, device=y.device))
        y = encode(self.encoder, y, ~mask)
        return y * mask.unsqueeze(-1).to(y.dtype)


@dataclass
class HFFinetuneConfig:
    """Config of the ``hf-finetune`` adapter (what ``merbench run --finetune`` sets).

    `audio_path` / `text_path`: the backbone of each modality, a local model folder, a hub name in
    the local Hugging Face cache (offline unless the user opts in) or ``minilm``; audio backbones
    are of the wav2vec2 family. `freeze_feature_encoder`: keep the convolutional front end of
    speech models frozen (as usual when fine-tuning wav2vec2). `freeze_layers`: also freeze the
    first K transformer layers and everything under them (0: none). `gradient_checkpointing`:
    recompute the backbone's activations in the backward pass (less memory, ~30% more time).
    `backbone_lr`: learning rate of the backbone's parameters (0: the run's ``train.lr``); the
    projection and the rest of the model use ``train.lr``. `dropout` after the projection to d.
    """

    audio_path: str = ""
    text_path: str = ""
    freeze_feature_encoder: bool = True
    freeze_layers: int = 0
    gradient_checkpointing: bool = False
    backbone_lr: float = 0.0
    dropout: float = 0.1


@ADAPTERS.register("hf-finetune", config=HFFinetuneConfig)
class HFFinetuneAdapter(Adapter):
    """A Hugging Face backbone trained end to end, then Linear(hidden, d), dropout, LayerNorm.

    This is the ``--finetune`` path of the paper (wav2vec2 + RoBERTa fine-tuned with the model).
    It works on RAW inputs, not cached features (`raw_inputs`; the trainer feeds it through
    `merbench.train.raw`, bypassing the feature store):

    - audio: ``forward(waveform [M, N] float (16 kHz, normalised), mask [M, N] bool)``; the output
      frame mask comes from the backbone's own feature-extractor output lengths;
    - text: ``forward(input_ids [M, T] long, mask [M, T] bool)``.

    Returns ``y [M, T', d]``; ``output_mask(mask) -> [M, T']``. `d_in` is ignored (the width is
    the backbone's ``hidden_size``). `backbone` and `backbone_lr` tell the optimiser
    (`merbench.train.optim`) which parameters take the backbone's learning rate.
    """

    #: batches carry raw waveforms and token ids for this adapter, not cached features
    raw_inputs = True

    def __init__(self, config: HFFinetuneConfig, d_in: int, d: int, modality: Modality = "audio"):
        super().__init__()
        from merbench.encoders.hf_finetune import load_trainable

        path = config.audio_path if modality == "audio" else config.text_path
        if not path:
            raise UserError(f"adapters/hf-finetune: set {modality}_path to a model name or folder")
        self.backbone = load_trainable(
            path,
            modality,
            freeze_feature_encoder_=config.freeze_feature_encoder,
            freeze_layers=config.freeze_layers,
            gradient_checkpointing=config.gradient_checkpointing,
        )
        self.backbone_lr = config.backbone_lr
        self.modality = modality
        hidden = int(self.backbone.config.hidden_size)
        self.proj = nn.Linear(hidden, d)
        self.dropout = nn.Dropout(config.dropout)
        self.norm = nn.LayerNorm(d)

    def output_mask(self, mask: Tensor) -> Tensor:
        if self.modality != "audio":
            return mask.bool()
        n = mask.shape[1]
        total = int(self.backbone._get_feat_extract_output_lengths(torch.tensor(n)))
        lengths = self.backbone._get_feat_extract_output_lengths(mask.long().sum(1))
        frames = torch.arange(total, device=mask.device)
        return frames.unsqueeze(0) < lengths.unsqueeze(1)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        if self.modality == "audio":
            out = self.backbone(input_values=x.float(), attention_mask=mask.long())
        else:
            out = self.backbone(input_ids=x.long(), attention_mask=mask.long())
        hidden = out.last_hidden_state
        out_mask = self.output_mask(mask)[:, : hidden.shape[1]]
        y = self.norm(self.dropout(self.proj(hidden)))
        return y * out_mask.unsqueeze(-1).to(y.dtype)

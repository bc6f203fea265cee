"""Fusion encoders (axis `fusions`): two adapted sequences in, one fused vector out.

Built as ``FusionEncoder(config, d)``; ``forward(audio [M,Ta,d], audio_mask [M,Ta], text [M,Tt,d],
text_mask [M,Tt]) -> [M, out_dim]``. Masks are True on real frames.

- ``self``: FE_s of DRKF (eq. 18), ``[CLS; S; SEP; T; SEP]`` through a Transformer encoder, output
  at CLS. Variants ``paper`` and ``code`` (docs/design.md, "Fusion encoders").
- ``cross``: FE_c, RECONSTRUCTED (the paper gives no details and no code): bidirectional
  cross-attention layers, each followed by self-attention and FFN per stream, masked-mean pooled,
  concatenated, projected to d. Also the MulT-style baseline.
- ``concat``: early fusion: masked mean of each modality, concatenated, MLP.
- ``audio`` / ``text``: the same fusion on one modality (its ``modalities`` field), for unimodal
  baselines.

Attention runs through `scaled_dot_product_attention` with key padding masks
(`merbench.models.attention`); parameters are those of the PyTorch modules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn

from merbench.errors import UserError
from merbench.models.attention import attend, encode
from merbench.models.base import FusionEncoder, masked_mean, mean_std, mean_std_min_max
from merbench.registry import FUSIONS


def _mlp(in_dim: int, out_dim: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.Linear(in_dim, out_dim), nn.ReLU(), nn.Dropout(dropout))


Modality = Literal["audio", "text"]


@dataclass
class PoolFusionConfig:
    """Config of the pooling fusion ``concat``: which modalities it pools (in this order), the
    MLP dropout, and `pooling`: ``mean`` (masked mean of the frames) or ``mean_std`` (masked mean
    and standard deviation, concatenated: how much a descriptor varies over the utterance, which
    a mean of per-frame projections cannot express) or ``mean_std_min_max`` (also the minimum and
    maximum of each dimension: its range). ``audio`` and ``text`` are the same fusion with one
    modality."""

    modalities: tuple[Modality, ...] = ("audio", "text")
    dropout: float = 0.1
    pooling: Literal["mean", "mean_std", "mean_std_min_max"] = "mean"


@dataclass
class AudioPoolConfig(PoolFusionConfig):
    """``audio``: the pooling fusion on audio alone (text is ignored)."""

    modalities: tuple[Modality, ...] = ("audio",)


@dataclass
class TextPoolConfig(PoolFusionConfig):
    """``text``: the pooling fusion on text alone (audio is ignored)."""

    modalities: tuple[Modality, ...] = ("text",)


@FUSIONS.register("concat", config=PoolFusionConfig)
@FUSIONS.register("audio", config=AudioPoolConfig)
@FUSIONS.register("text", config=TextPoolConfig)
class PoolFusion(FusionEncoder):
    """Early fusion: ``MLP([pool(m) for m in modalities])``, Linear(k p d, d) ReLU dropout, with
    pool the masked mean (p = 1), the masked mean and std (p = 2), or those and the masked min
    and max (p = 4).

    ``forward(...) -> [M, d]``; `out_dim` = d. Modalities not listed are ignored.
    """

    def __init__(self, config: PoolFusionConfig, d: int) -> None:
        super().__init__()
        if not config.modalities or len(set(config.modalities)) != len(config.modalities):
            raise UserError(f"fusion modalities {config.modalities!r}: audio and/or text, once")
        self.modalities = tuple(config.modalities)
        self.out_dim = d
        pools = {"mean": (masked_mean, 1), "mean_std": (mean_std, 2)}
        pools["mean_std_min_max"] = (mean_std_min_max, 4)
        self.pool, statistics = pools[config.pooling]
        width = statistics * d
        self.mlp = _mlp(len(self.modalities) * width, d, config.dropout)

    def forward(self, audio: Tensor, audio_mask: Tensor, text: Tensor, text_mask: Tensor) -> Tensor:
        streams = {"audio": (audio, audio_mask), "text": (text, text_mask)}
        pooled = [self.pool(*streams[m]) for m in self.modalities]
        return self.mlp(torch.cat(pooled, -1) if len(pooled) > 1 else pooled[0])


def _encoder(
    d: int, layers: int, heads: int, ffn_mult: int, dropout: float
) -> nn.TransformerEncoder:
    layer = nn.TransformerEncoderLayer(
        d, heads, ffn_mult * d, dropout, activation="gelu", batch_first=True
    )
    return nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)


@dataclass
class SelfFusionConfig:
    """Config of ``self`` (FE_s). Paper scale: d 1024, 6 layers, 8 heads, FFN 4096 (ffn_mult 4).

    `layers`, `heads`, FFN width ``ffn_mult * d``, GELU, `dropout`; learned absolute positions up
    to `max_positions` (paper: 2800). `variant` ``paper``: learned CLS/SEP vectors, key padding mask
    (each utterance packed as ``[CLS; its real S frames; SEP; its real T tokens; SEP]``), segment
    embeddings (audio 0, text 1); ``code``: CLS/SEP constant zeros, padded sequences concatenated
    as they are, no mask, no segments (what the released code does).
    """

    layers: int = 2
    heads: int = 4
    ffn_mult: int = 4
    dropout: float = 0.1
    max_positions: int = 2800
    variant: Literal["paper", "code"] = "paper"


@FUSIONS.register("self", config=SelfFusionConfig)
class SelfFusion(FusionEncoder):
    """FE_s (eq. 18): Transformer encoder over ``[CLS; S; SEP; T; SEP]``, output at CLS -> [M, d].

    Paper variant: padding never influences the output (packed sequence + key padding mask), so
    changing padded values or the amount of padding changes nothing.
    """

    def __init__(self, config: SelfFusionConfig, d: int) -> None:
        super().__init__()
        self.config, self.out_dim = config, d
        self.paper = config.variant == "paper"
        self.pos = nn.Embedding(config.max_positions, d)
        if self.paper:
            self.cls = nn.Parameter(torch.randn(d) * 0.02)
            self.sep = nn.Parameter(torch.randn(d) * 0.02)
            self.segment = nn.Embedding(2, d)
        self.norm = nn.LayerNorm(d)
        self.dropout = nn.Dropout(config.dropout)
        self.encoder = _encoder(d, config.layers, config.heads, config.ffn_mult, config.dropout)

    def _check_length(self, length: int) -> None:
        if length > self.config.max_positions:
            raise UserError(
                f"fusions/self: fused sequence of {length} positions exceeds max_positions="
                f"{self.config.max_positions}; raise it or the adapter's frame_stride"
            )

    def sequence(
        self, audio: Tensor, audio_mask: Tensor, text: Tensor, text_mask: Tensor
    ) -> tuple[Tensor, Tensor | None, Tensor | None]:
        """The input sequence ``[M, L, d]``, its key padding mask ``[M, L]`` (True = padding, or
        None in the code variant) and segment ids ``[M, L]``."""
        m, ta, d = audio.shape
        tt = text.shape[1]
        if not self.paper:
            zero = audio.new_zeros(m, 1, d)
            x = torch.cat([zero, audio, zero, text, zero], 1)
            self._check_length(x.shape[1])
            return x, None, None
        la, lt = audio_mask.sum(1), text_mask.sum(1)  # [M]
        lengths = la + lt + 3
        seq_len = int(lengths.max())
        self._check_length(seq_len)
        rows = torch.arange(m, device=audio.device)
        # under autocast the adapters' outputs may be bf16/fp16 while CLS/SEP stay fp32
        dtype = torch.promote_types(audio.dtype, text.dtype)
        x = audio.new_zeros(m, seq_len, d, dtype=dtype)
        x[:, 0] = self.cls.to(dtype)
        sep = self.sep.to(dtype).expand(m, d)
        # destination of each real frame: 1 + its rank among the real frames of its utterance
        dest_a = audio_mask.long().cumsum(1)  # [M, Ta]
        r_a = rows.unsqueeze(1).expand(m, ta)
        x = x.index_put((r_a[audio_mask], dest_a[audio_mask]), audio[audio_mask].to(dtype))
        x = x.index_put((rows, la + 1), sep)
        dest_t = la.unsqueeze(1) + 1 + text_mask.long().cumsum(1)
        r_t = rows.unsqueeze(1).expand(m, tt)
        x = x.index_put((r_t[text_mask], dest_t[text_mask]), text[text_mask].to(dtype))
        x = x.index_put((rows, la + lt + 2), sep)
        positions = torch.arange(seq_len, device=audio.device).unsqueeze(0)
        padding = positions >= lengths.unsqueeze(1)
        segments = (positions > (la + 1).unsqueeze(1)).long()
        return x, padding, segments

    def forward(self, audio: Tensor, audio_mask: Tensor, text: Tensor, text_mask: Tensor) -> Tensor:
        x, padding, segments = self.sequence(audio, audio_mask, text, text_mask)
        x = x + self.pos(torch.arange(x.shape[1], device=x.device))
        if segments is not None:
            x = x + self.segment(segments)
        x = self.dropout(self.norm(x))
        return encode(self.encoder, x, padding)[:, 0]


@dataclass
class CrossFusionConfig:
    """Config of ``cross`` (FE_c, reconstructed): `layers` bidirectional cross-attention layers of
    `heads` heads (paper: 8), each followed by a self-attention + FFN layer (``ffn_mult * d``)
    per stream; learned positions up to `max_positions`."""

    layers: int = 2
    heads: int = 4
    ffn_mult: int = 4
    dropout: float = 0.1
    max_positions: int = 2800


class _CrossLayer(nn.Module):
    """Audio attends to text and text to audio (from the same inputs), residual + LayerNorm,
    then a self-attention + FFN Transformer layer on each stream."""

    def __init__(self, d: int, heads: int, ffn_mult: int, dropout: float) -> None:
        super().__init__()
        self.a2t = nn.MultiheadAttention(d, heads, dropout=dropout, batch_first=True)
        self.t2a = nn.MultiheadAttention(d, heads, dropout=dropout, batch_first=True)
        self.norm_a, self.norm_t = nn.LayerNorm(d), nn.LayerNorm(d)
        self.drop = nn.Dropout(dropout)
        self.self_a = _encoder(d, 1, heads, ffn_mult, dropout)
        self.self_t = _encoder(d, 1, heads, ffn_mult, dropout)

    def forward(self, a: Tensor, a_pad: Tensor, t: Tensor, t_pad: Tensor) -> tuple[Tensor, Tensor]:
        a_ctx = attend(self.a2t, a, t, t_pad)
        t_ctx = attend(self.t2a, t, a, a_pad)
        a = self.norm_a(a + self.drop(a_ctx))
        t = self.norm_t(t + self.drop(t_ctx))
        return encode(self.self_a, a, a_pad), encode(self.self_t, t, t_pad)


def _key_padding(mask: Tensor) -> Tensor:
    """Key padding mask (True = ignore) from a real-frame mask; a sequence without any real frame
    keeps its first (zero) position attendable so that attention stays finite."""
    pad = ~mask
    pad[:, 0] &= mask.any(1)
    return pad


@FUSIONS.register("cross", config=CrossFusionConfig)
class CrossFusion(FusionEncoder):
    """FE_c, RECONSTRUCTED (no public code; the paper only names a bidirectional cross-attention
    fusion encoder): L layers of audio<->text cross-attention, each followed by self-attention and
    FFN per stream; both streams masked-mean pooled, concatenated, Linear(2d, d). -> [M, d].
    With no ED and no augmentation it is the MulT-style baseline."""

    def __init__(self, config: CrossFusionConfig, d: int) -> None:
        super().__init__()
        self.config, self.out_dim = config, d
        self.pos_a = nn.Embedding(config.max_positions, d)
        self.pos_t = nn.Embedding(config.max_positions, d)
        self.layers = nn.ModuleList(
            _CrossLayer(d, config.heads, config.ffn_mult, config.dropout)
            for _ in range(config.layers)
        )
        self.proj = nn.Linear(2 * d, d)

    def forward(self, audio: Tensor, audio_mask: Tensor, text: Tensor, text_mask: Tensor) -> Tensor:
        longest = max(audio.shape[1], text.shape[1])
        if longest > self.config.max_positions:
            raise UserError(
                f"fusions/cross: sequence of {longest} positions exceeds max_positions="
                f"{self.config.max_positions}"
            )
        a = audio + self.pos_a(torch.arange(audio.shape[1], device=audio.device))
        t = text + self.pos_t(torch.arange(text.shape[1], device=text.device))
        a_pad, t_pad = _key_padding(audio_mask), _key_padding(text_mask)
        for layer in self.layers:
            a, t = layer(a, a_pad, t, t_pad)
        pooled = torch.cat([masked_mean(a, audio_mask), masked_mean(t, text_mask)], -1)
        return self.proj(pooled)

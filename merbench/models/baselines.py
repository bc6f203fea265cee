"""Baseline models that are not the `composed` pipeline: late fusion, FDRL, MISA (axis `models`).

Each is built as ``Model(config, spec)`` and uses the roles ``adapter`` (one adapter per modality,
same plugin) and ``ec`` (the emotion classifier head). FDRL has no public code: it is
RECONSTRUCTED FROM THE ABSTRACT of the FDRL paper (ICASSP 2024), as docs/design.md describes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from merbench.models.adapted import AdaptedModel
from merbench.models.attention import encode
from merbench.models.base import Batch, ModelSpec, masked_mean
from merbench.models.losses import (
    classification_loss,
    cmd,
    grad_reverse,
    soft_orthogonality,
    total_loss,
)
from merbench.registry import MODELS


# -- late fusion --------------------------------------------------------------------------------
@dataclass
class LateConfig:
    """Config of `late`: `d` adapter width."""

    d: int = 64


@MODELS.register("late", config=LateConfig)
class LateFusion(AdaptedModel):
    """Late fusion: one classifier per modality (``ec`` head on the masked-mean adapter output),
    trained jointly (``losses``: ``audio`` and ``text`` cross-entropies); ``logits`` is the average
    of the two log-probability vectors (for multi-label targets, the average of the two logits).
    ``embed`` is the concatenation of the two pooled vectors ``[M, 2d]``."""

    main_losses = ("audio", "text")  # two task losses, no auxiliary term
    absent_modality = "skip"  # the present modality's classifier alone

    def __init__(self, config: LateConfig, spec: ModelSpec) -> None:
        super().__init__(spec, config.d)
        self.audio_head = self.head(config.d, spec.num_classes)
        self.text_head = self.head(config.d, spec.num_classes)

    def _branch_logits(self, batch: Batch) -> tuple[Tensor, Tensor]:
        audio, audio_mask, text, text_mask = self.encode(batch)
        return (
            self.audio_head(masked_mean(audio, audio_mask)),
            self.text_head(masked_mean(text, text_mask)),
        )

    def losses(self, batch: Batch) -> dict[str, Tensor]:
        la, lt = self._branch_logits(batch)
        losses = {
            "audio": classification_loss(la, batch.labels, weight=batch.class_weights),
            "text": classification_loss(lt, batch.labels, weight=batch.class_weights),
        }
        losses["total"] = losses["audio"] + losses["text"]
        return losses

    def logits(self, batch: Batch) -> Tensor:
        la, lt = self._branch_logits(batch)
        if self.spec.multilabel:
            return (la + lt) / 2
        return (F.log_softmax(la, -1) + F.log_softmax(lt, -1)) / 2

    def logits_absent(self, batch: Batch, modality: str) -> Tensor:
        """The present modality's branch alone (its log-probabilities; logits for multi-label)."""
        la, lt = self._branch_logits(batch)
        present = lt if modality == "audio" else la
        return present if self.spec.multilabel else F.log_softmax(present, -1)

    def embed(self, batch: Batch) -> Tensor:
        audio, audio_mask, text, text_mask = self.encode(batch)
        return torch.cat([masked_mean(audio, audio_mask), masked_mean(text, text_mask)], -1)


# -- FDRL (reconstructed from the abstract) -----------------------------------------------------
def _token_mlp(d: int, dropout: float) -> nn.Sequential:
    """FDRL shared/private encoder (reconstructed from the abstract): per token Linear GELU
    dropout LayerNorm."""
    return nn.Sequential(nn.Linear(d, d), nn.GELU(), nn.Dropout(dropout), nn.LayerNorm(d))


def _classifier(d: int, out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d, max(d // 2, 1)), nn.ReLU(), nn.Linear(max(d // 2, 1), out))


def token_orthogonality(a: Tensor, b: Tensor, mask: Tensor) -> Tensor:
    """FDRL disparity term (reconstructed from the abstract): soft orthogonality of two token
    matrices of the same utterances, ``a, b [M,T,d]``:
    tokens L2-normalised, padding zeroed, ``||A_i^T B_i||_F^2 / L_i^2`` averaged over i.
    Zero when every shared token is orthogonal to every private token."""
    w = mask.unsqueeze(-1).to(a.dtype)
    a, b = F.normalize(a, dim=-1) * w, F.normalize(b, dim=-1) * w
    gram = torch.einsum("mtd,mte->mde", a, b)
    lengths = mask.sum(1).to(a.dtype).clamp_min(1.0)
    return (gram.pow(2).sum((1, 2)) / lengths.pow(2)).mean()


@dataclass
class FDRLConfig:
    """Config of `fdrl` (RECONSTRUCTED FROM THE ABSTRACT; the weights are our choices).

    `d` width; `align` ``grl`` (token-level modality discriminator behind a gradient-reversal layer
    of scale `grl_scale`) or ``cmd`` (central moment discrepancy of the shared audio and text
    tokens, `cmd_moments` moments); `lambda_align`, `lambda_disp`, `lambda_pred` the weights of
    L = L_task + la*L_align + ld*L_disp + lp*L_pred; fusion Transformer of `fusion_layers` layers,
    `heads` heads, FFN ``ffn_mult * d``, `dropout`, per-stream learned positions up to
    `max_positions`.
    """

    d: int = 64
    align: Literal["grl", "cmd"] = "grl"
    lambda_align: float = 0.1
    lambda_disp: float = 0.1
    lambda_pred: float = 0.5
    grl_scale: float = 1.0
    cmd_moments: int = 5
    fusion_layers: int = 1
    heads: int = 4
    ffn_mult: int = 4
    dropout: float = 0.1
    max_positions: int = 2800


@MODELS.register("fdrl", config=FDRLConfig)
class FDRL(AdaptedModel):
    """FDRL, RECONSTRUCTED FROM THE ABSTRACT (Sun et al., ICASSP 2024; no public code).

    On adapter outputs, per frame/token ("fine-grained"): a shared encoder (one set of weights for
    both modalities) and a private encoder per modality.
    - alignment (shared subspace): a token-level modality discriminator through a gradient-reversal
      layer (BCE audio 0 / text 1 over real tokens), or CMD between shared audio and text tokens;
    - disparity (private subspaces): soft orthogonality between each modality's shared and private
      token matrices, plus a cooperative modality classifier on private tokens (no reversal);
    - fine-grained predictor: one emotion classifier applied to the pooled shared-audio,
      shared-text, private-audio and private-text representations (mean of the four losses);
    - fusion: a small Transformer over the four token sequences (type embeddings, per-stream
      positions, key padding mask), masked-mean pooled, ``ec`` head.
    ``losses``: ``task``, ``align``, ``disp``, ``pred`` (weighted) and ``total``.
    """

    def __init__(self, config: FDRLConfig, spec: ModelSpec) -> None:
        super().__init__(spec, config.d)
        d, c = config.d, spec.num_classes
        self.config = config
        self.shared = _token_mlp(d, config.dropout)
        self.private_audio = _token_mlp(d, config.dropout)
        self.private_text = _token_mlp(d, config.dropout)
        self.discriminator = _classifier(d, 1)
        self.modality_classifier = _classifier(d, 1)
        self.predictor = nn.Linear(d, c)
        self.types = nn.Embedding(4, d)
        self.pos = nn.Embedding(config.max_positions, d)
        layer = nn.TransformerEncoderLayer(
            d, config.heads, config.ffn_mult * d, config.dropout, "gelu", batch_first=True
        )
        self.fusion = nn.TransformerEncoder(layer, config.fusion_layers, enable_nested_tensor=False)
        self.ec = self.head(d, c)

    def _streams(self, batch: Batch):
        audio, audio_mask, text, text_mask = self.encode(batch)
        streams = (
            self.shared(audio),
            self.shared(text),
            self.private_audio(audio),
            self.private_text(text),
        )
        masks = (audio_mask, text_mask, audio_mask, text_mask)
        return streams, masks

    def _fuse(self, streams, masks) -> Tensor:
        parts = []
        for kind, x in enumerate(streams):
            positions = torch.arange(x.shape[1], device=x.device).clamp_max(
                self.config.max_positions - 1
            )
            parts.append(x + self.types.weight[kind] + self.pos(positions))
        x = torch.cat(parts, 1)
        mask = torch.cat(masks, 1)
        y = encode(self.fusion, x, ~mask)
        return masked_mean(y, mask)

    def losses(self, batch: Batch) -> dict[str, Tensor]:
        c = self.config
        streams, masks = self._streams(batch)
        sh_a, sh_t, p_a, p_t = streams
        am, tm = masks[0], masks[1]
        task = classification_loss(
            self.ec(self._fuse(streams, masks)), batch.labels, weight=batch.class_weights
        )
        real_sh = torch.cat([sh_a[am], sh_t[tm]], 0)
        modality = torch.cat([sh_a.new_zeros(int(am.sum())), sh_a.new_ones(int(tm.sum()))])
        if c.align == "grl":
            logit = self.discriminator(grad_reverse(real_sh, c.grl_scale)).squeeze(-1)
            align = F.binary_cross_entropy_with_logits(logit, modality)
        else:
            align = cmd(sh_a[am], sh_t[tm], c.cmd_moments)
        ortho = token_orthogonality(sh_a, p_a, am) + token_orthogonality(sh_t, p_t, tm)
        real_p = torch.cat([p_a[am], p_t[tm]], 0)
        coop = F.binary_cross_entropy_with_logits(
            self.modality_classifier(real_p).squeeze(-1), modality
        )
        pooled = [masked_mean(x, m) for x, m in zip(streams, masks, strict=True)]
        pred = (
            total_loss(
                classification_loss(self.predictor(p), batch.labels, weight=batch.class_weights)
                for p in pooled
            )
            / 4
        )
        losses = {
            "task": task,
            "align": c.lambda_align * align,
            "disp": c.lambda_disp * (ortho + coop),
            "pred": c.lambda_pred * pred,
        }
        losses["total"] = total_loss(losses.values())
        return losses

    def embed(self, batch: Batch) -> Tensor:
        return self._fuse(*self._streams(batch))

    def logits(self, batch: Batch) -> Tensor:
        return self.ec(self.embed(batch))


# -- MISA -----------------------------------------------------------------------------------------
@dataclass
class MISAConfig:
    """Config of `misa` (Hazarika et al., ACM MM 2020, on masked-mean pooled adapter outputs).

    `d` width; weights of the similarity (CMD, `cmd_moments` moments), difference (soft
    orthogonality) and reconstruction (MSE) losses; fusion: one Transformer layer of `heads` heads
    over the four vectors, flattened, Linear(4d, d), `dropout`.
    """

    d: int = 64
    sim_weight: float = 1.0
    diff_weight: float = 0.3
    recon_weight: float = 1.0
    cmd_moments: int = 5
    heads: int = 4
    dropout: float = 0.1


@MODELS.register("misa", config=MISAConfig)
class MISA(AdaptedModel):
    """MISA: modality-invariant (shared encoder, same weights) and modality-specific (private
    encoder per modality) projections of each utterance vector (sigmoid-activated Linear layers).

    Losses: ``task``; ``sim`` = CMD(shared audio, shared text); ``diff`` = soft orthogonality of
    (private a, shared a), (private t, shared t), (private a, private t); ``recon`` = MSE between
    each utterance vector and Linear(shared + private); ``total``. Fusion: the four vectors
    through one Transformer layer, concatenated, Linear(4d, d) ReLU dropout, ``ec`` head.
    """

    def __init__(self, config: MISAConfig, spec: ModelSpec) -> None:
        super().__init__(spec, config.d)
        d = config.d
        self.config = config
        self.shared = nn.Sequential(nn.Linear(d, d), nn.Sigmoid())
        self.private_audio = nn.Sequential(nn.Linear(d, d), nn.Sigmoid())
        self.private_text = nn.Sequential(nn.Linear(d, d), nn.Sigmoid())
        self.recon_audio = nn.Linear(d, d)
        self.recon_text = nn.Linear(d, d)
        layer = nn.TransformerEncoderLayer(
            d, config.heads, 4 * d, config.dropout, "gelu", batch_first=True
        )
        self.fusion = nn.TransformerEncoder(layer, 1, enable_nested_tensor=False)
        self.project = nn.Sequential(nn.Linear(4 * d, d), nn.ReLU(), nn.Dropout(config.dropout))
        self.ec = self.head(d, spec.num_classes)

    def _parts(self, batch: Batch):
        audio, audio_mask, text, text_mask = self.encode(batch)
        u_a, u_t = masked_mean(audio, audio_mask), masked_mean(text, text_mask)
        return (
            u_a,
            u_t,
            self.shared(u_a),
            self.shared(u_t),
            self.private_audio(u_a),
            self.private_text(u_t),
        )

    def _fuse(self, sh_a, sh_t, p_a, p_t) -> Tensor:
        h = encode(self.fusion, torch.stack([p_a, p_t, sh_a, sh_t], 1), None)  # [M, 4, d]
        return self.project(h.flatten(1))

    def losses(self, batch: Batch) -> dict[str, Tensor]:
        c = self.config
        u_a, u_t, sh_a, sh_t, p_a, p_t = self._parts(batch)
        task = classification_loss(
            self.ec(self._fuse(sh_a, sh_t, p_a, p_t)), batch.labels, weight=batch.class_weights
        )
        diff = soft_orthogonality(p_a, sh_a) + soft_orthogonality(p_t, sh_t)
        diff = diff + soft_orthogonality(p_a, p_t)
        recon = F.mse_loss(self.recon_audio(sh_a + p_a), u_a) + F.mse_loss(
            self.recon_text(sh_t + p_t), u_t
        )
        losses = {
            "task": task,
            "sim": c.sim_weight * cmd(sh_a, sh_t, c.cmd_moments),
            "diff": c.diff_weight * diff,
            "recon": c.recon_weight * recon,
        }
        losses["total"] = total_loss(losses.values())
        return losses

    def embed(self, batch: Batch) -> Tensor:
        _, _, sh_a, sh_t, p_a, p_t = self._parts(batch)
        return self._fuse(sh_a, sh_t, p_a, p_t)

    def logits(self, batch: Batch) -> Tensor:
        return self.ec(self.embed(batch))

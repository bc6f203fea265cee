"""Augmentation objectives on adapter outputs (axis `augmentations`): none, pcmi, cmie.

Built as ``Augmentation(config, d, num_classes)``; ``forward(audio [M,Ta,d], audio_mask, text
[M,Tt,d], text_mask, labels) -> (audio_for_fusion, text_for_fusion, losses)`` with the loss terms
already weighted, in training; ``fusion_inputs(...)`` gives the same sequences for fusion at
inference (without the losses). Equation numbers are the DRKF paper's;
docs/design.md ("Augmentation objectives") says what the ``paper`` and ``code`` variants do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from merbench.bounds import Range
from merbench.models.base import Augmentation, Batch, masked_mean
from merbench.models.losses import (
    cross_negatives_loss,
    info_nce,
    kl_to_labels,
    label_distribution,
    masked_mean_squared_error,
    masked_sum_squared_error,
    nt_xent,
    pseudo_kl_code,
)
from merbench.registry import AUGMENTATIONS

#: Default lower bound of the learned contrastive temperature (see `_Temperature`).
TAU_MIN = 0.1


@dataclass
class NoAugmentationConfig:
    """``none`` has no options."""


@AUGMENTATIONS.register("none", config=NoAugmentationConfig)
class NoAugmentation(Augmentation):
    """No representation loss: passes the sequences through, returns no loss terms."""

    def __init__(self, config: NoAugmentationConfig, d: int, num_classes: int) -> None:
        super().__init__()

    def forward(self, audio, audio_mask, text, text_mask, labels, views=None):  # noqa: D102
        return audio, text, {}


class ResidualAEBlock(nn.Module):
    """Encoder Lin(d,h0) LeakyReLU Lin(h0,h1) LeakyReLU Lin(h1,h2); decoder Lin(h2,h1) ReLU
    Lin(h1,h0) ReLU Lin(h0,d): six linear layers (paper: h = 256, 128, 64)."""

    def __init__(self, d: int, hidden: tuple[int, int, int]) -> None:
        super().__init__()
        h0, h1, h2 = hidden
        self.encoder = nn.Sequential(
            nn.Linear(d, h0), nn.LeakyReLU(), nn.Linear(h0, h1), nn.LeakyReLU(), nn.Linear(h1, h2)
        )
        self.decoder = nn.Sequential(
            nn.Linear(h2, h1), nn.ReLU(), nn.Linear(h1, h0), nn.ReLU(), nn.Linear(h0, d)
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.decoder(self.encoder(x))


class ResidualAutoencoder(nn.Module):
    """f_AE: `blocks` residual blocks then a transition Lin(d,d) ReLU Lin(d,d), per frame.

    ``x_in = x; out = 0; for block: x_in = x_in + out; out = block(x_in)``;
    result ``transition(x_in + out)``. ``[..., d] -> [..., d]``.
    """

    def __init__(self, d: int, blocks: int, hidden: tuple[int, int, int]) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(ResidualAEBlock(d, hidden) for _ in range(blocks))
        self.transition = nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, d))

    def forward(self, x: Tensor) -> Tensor:
        x_in, out = x, torch.zeros_like(x)
        for block in self.blocks:
            x_in = x_in + out
            out = block(x_in)
        return self.transition(x_in + out)


def projection(d: int, proj_dim: int) -> nn.Sequential:
    """g: Lin(d, proj_dim) ReLU Lin(proj_dim, proj_dim) (paper: proj_dim 1024)."""
    return nn.Sequential(nn.Linear(d, proj_dim), nn.ReLU(), nn.Linear(proj_dim, proj_dim))


class _Temperature(nn.Module):
    """tau = max(sigmoid(p), tau_min), p a learned scalar (paper/code: p initialised to 1.0,
    tau0 ~ 0.731; tau_min 0 is the literal form).

    Eq. 14/15 leave the positive out of the denominator, so with cosine similarities in [-1, 1]
    each is bounded below only by -2/tau + log(M-1): the loss pays the model to shrink tau, and
    with tau free L_c has no lower bound (an isolated 3,000-step PCMI run: tau 0.73 -> 0.015,
    L_c -258). With tau >= tau_min, L_c >= 2 (-2/tau_min + log(M-1)); below tau_min, p gets no
    gradient from the loss.
    """

    def __init__(self, init: float, tau_min: float = 0.0) -> None:
        super().__init__()
        self.p = nn.Parameter(torch.tensor(float(init)))
        self.tau_min = tau_min

    def forward(self) -> Tensor:
        tau = torch.sigmoid(self.p)
        return tau.clamp_min(self.tau_min) if self.tau_min > 0 else tau


def paper_contrastive(
    z_s: Tensor, z_s_aug: Tensor, z_t: Tensor, z_t_aug: Tensor, tau: Tensor
) -> Tensor:
    """L_c of eq. 17 as printed: mean over i of eq. 14 + eq. 15 + eq. 16 (all inputs ``[M, D]``)."""
    l14 = cross_negatives_loss(z_s, z_s_aug, z_t_aug, tau)
    l15 = cross_negatives_loss(z_t, z_t_aug, z_s_aug, tau)
    l16 = info_nce(z_s, z_t, tau)
    return (l14 + l15 + l16).mean()


@dataclass
class PCMIConfig:
    """Config of ``pcmi`` (progressive augmentation + contrastive MI estimation).

    `variant` ``paper`` | ``code`` (docs/design.md); `alpha` weight of L_MSE (eq. 12, paper 0.2);
    `kld_weight` weight of L_KLD (paper 1); `beta` weight of L_c (eq. 21, paper 0.2); `blocks`
    residual AE blocks (paper 5) of widths `hidden` (paper 256, 128, 64); `proj_dim` output width
    of g (0 = d; the paper's 1024 at paper scale, where d = 1024; the code variant needs it equal
    to d); `tau_init` initial p of tau = sigmoid(p) (paper 1.0); `tau_min` the lower bound of tau
    (0: the paper's unbounded form; see `_Temperature`); `detach_mse_target` stops the
    L_MSE gradient into the adapter outputs, so that the reconstruction constrains only the AE
    (False, the default, is eq. 10 as written: the gradient reaches both sides).

    `mse_reduction` (paper variant) ``mean`` (default): the squared error averaged over the real,
    unpadded frame elements of each modality, summed over the two modalities; what the paper's
    name "MSE" and the released code's ``nn.MSELoss()`` compute, and the only scale at which
    alpha = 0.2 balances the other terms. ``sum``: eq. 10 literally (per-sample squared error
    summed over real frames and dims, divided by 2M), for reproduction studies only. Measured at
    step 0 (benchmarks/loss_scales.py): with the `drkf` recipe (d 64) on synth's first batch the
    weighted sum form is 537 against 1.3 for the EC loss and carries 98% of the gradient norm on
    the adapters and fusion (the mean form: 0.42 and 5%); after clipping at 1.0 the EC's gradient
    there is 0.005 instead of 1.05. At paper scale (d 1024, 349 frames) it is 9.8e4 times the
    mean form. On synth it costs BME + PCMI and DRKF many UA points (docs/results.md, Table 4). The code
    variant always uses ``nn.MSELoss()`` over all elements incl. padding.
    """

    variant: Literal["paper", "code"] = "paper"
    alpha: float = 0.2
    kld_weight: float = 1.0
    beta: float = 0.2
    blocks: int = 5
    hidden: tuple[int, ...] = (256, 128, 64)
    proj_dim: int = 0
    tau_init: float = 1.0
    tau_min: float = field(default=TAU_MIN, metadata={"range": Range(ge=0, lt=1)})
    detach_mse_target: bool = False
    mse_reduction: Literal["mean", "sum"] = "mean"


@AUGMENTATIONS.register("pcmi", config=PCMIConfig)
class PCMI(Augmentation):
    """Progressive augmentation (residual autoencoders f_AE) + contrastive MI estimation (DRKF ORL).

    Loss terms (weighted): ``mse`` = alpha * L_MSE (eq. 10), ``kld`` = kld_weight * L_KLD (eq. 11),
    ``contrastive`` = beta * L_c (eq. 17).

    - paper: cls = masked mean; L_MSE per `mse_reduction` (default the mean over real frame
      elements); L_KLD = KL(y ||
      softmax(Linear(S~cls))) + the same for text (cross-entropy to the label); L_c with eq. 14/15
      as printed (positive not in the denominator, negatives the other modality's augmented cls,
      k != i) and eq. 16 InfoNCE. The fusion encoder receives the augmented sequences S~, T~,
      in training and at inference alike (`fusion_inputs`).
    - code: cls = mean over all frames incl. padding (audio), first token (text); L_MSE the
      element-mean MSE of each modality incl. padding, summed over the two; L_KLD = 2 x the
      released code's pseudo-KL ``F.kl_div(p(g(T_cls)), p(T~cls))`` = mean(p_aug * (log p_aug -
      p_orig)) of one text classifier (no labels, no audio); eq. 14/15 as NT-Xent inside one modality between g(cls) and the
      unprojected augmented cls; eq. 16 as in the paper. The fusion encoder receives the raw
      adapter outputs: the AE acts only through the losses.
    """

    def __init__(self, config: PCMIConfig, d: int, num_classes: int) -> None:
        super().__init__()
        if len(config.hidden) != 3:
            raise ValueError("augmentations/pcmi.hidden must have three widths")
        proj_dim = config.proj_dim or d
        if config.variant == "code" and proj_dim != d:
            from merbench.errors import UserError

            raise UserError(
                f"augmentations/pcmi: variant=code compares g(cls) with the unprojected augmented "
                f"cls, so proj_dim must equal d={d} (got {proj_dim}); set proj_dim=0"
            )
        if config.variant == "code" and config.mse_reduction != "mean":
            from merbench.errors import UserError

            raise UserError(
                "augmentations/pcmi: mse_reduction applies to variant=paper; the code variant "
                f"uses nn.MSELoss() over all elements (got mse_reduction={config.mse_reduction!r})"
            )
        self.config, self.num_classes = config, num_classes
        self.paper = config.variant == "paper"
        hidden = tuple(config.hidden)
        self.ae_audio = ResidualAutoencoder(d, config.blocks, hidden)  # type: ignore[arg-type]
        self.ae_text = ResidualAutoencoder(d, config.blocks, hidden)  # type: ignore[arg-type]
        self.g_audio = projection(d, proj_dim)
        self.g_text = projection(d, proj_dim)
        self.tau = _Temperature(config.tau_init, config.tau_min)
        self.clf_text = nn.Linear(d, num_classes)
        self.clf_audio = nn.Linear(d, num_classes) if self.paper else None

    def augmented(self, audio: Tensor, audio_mask: Tensor, text: Tensor, text_mask: Tensor):
        """``(S~seq, T~seq)``: f_AE of each modality per frame, padded frames zeroed."""
        audio_aug = self.ae_audio(audio) * audio_mask.unsqueeze(-1).to(audio.dtype)
        text_aug = self.ae_text(text) * text_mask.unsqueeze(-1).to(text.dtype)
        return audio_aug, text_aug

    def fusion_inputs(self, audio, audio_mask, text, text_mask):  # noqa: D102
        if self.paper:
            return self.augmented(audio, audio_mask, text, text_mask)
        return audio, text

    def forward(self, audio, audio_mask, text, text_mask, labels, views=None):  # noqa: D102
        if self.paper:
            audio_aug, text_aug = self.augmented(audio, audio_mask, text, text_mask)
        else:  # the released code: the AE runs over padding too, and its loss sees it
            audio_aug, text_aug = self.ae_audio(audio), self.ae_text(text)
        tau = self.tau()
        m = audio.shape[0]
        target_audio, target_text = audio, text
        if self.config.detach_mse_target:
            target_audio, target_text = audio.detach(), text.detach()
        if self.paper:
            s_cls, t_cls = masked_mean(audio, audio_mask), masked_mean(text, text_mask)
            s_aug_cls = masked_mean(audio_aug, audio_mask)
            t_aug_cls = masked_mean(text_aug, text_mask)
            if self.config.mse_reduction == "mean":
                mse = masked_mean_squared_error(target_audio, audio_aug, audio_mask)
                mse = mse + masked_mean_squared_error(target_text, text_aug, text_mask)
            else:
                sq = masked_sum_squared_error(target_audio, audio_aug, audio_mask)
                sq = sq + masked_sum_squared_error(target_text, text_aug, text_mask)
                mse = sq.sum() / (2 * m)
            y = label_distribution(labels, self.num_classes)
            assert self.clf_audio is not None
            kld = kl_to_labels(self.clf_audio(s_aug_cls), y).mean()
            kld = kld + kl_to_labels(self.clf_text(t_aug_cls), y).mean()
            z_s, z_t = self.g_audio(s_cls), self.g_text(t_cls)
            z_s_aug, z_t_aug = self.g_audio(s_aug_cls), self.g_text(t_aug_cls)
            l_c = paper_contrastive(z_s, z_s_aug, z_t, z_t_aug, tau)
            out_audio, out_text = audio_aug, text_aug
        else:
            s_cls, t_cls = audio.mean(1), text[:, 0]
            s_aug_cls, t_aug_cls = audio_aug.mean(1), text_aug[:, 0]
            mse = F.mse_loss(audio_aug, target_audio) + F.mse_loss(text_aug, target_text)
            z_s, z_t = self.g_audio(s_cls), self.g_text(t_cls)
            # released: F.kl_div(origin_text_probs, aug_text_probs), counted twice
            kld = 2 * pseudo_kl_code(self.clf_text(z_t), self.clf_text(t_aug_cls))
            l_c = nt_xent(z_s, s_aug_cls, tau) + nt_xent(z_t, t_aug_cls, tau)
            l_c = l_c + info_nce(z_s, z_t, tau).mean()
            out_audio, out_text = audio, text
        losses = {
            "mse": self.config.alpha * mse,
            "kld": self.config.kld_weight * kld,
            "contrastive": self.config.beta * l_c,
        }
        return out_audio, out_text, losses


@dataclass
class CMIEConfig:
    """Config of ``cmie``: `beta` weight of L_c; `proj_dim` of g (0 = d); `tau_init`, `tau_min`
    as pcmi.

    Views (made on the cached input features, before the adapter): a random contiguous crop
    keeping a fraction in ``[crop_min, 1]`` of each utterance's real frames, then each remaining
    frame/token dropped with probability `mask_prob` (at least one kept), then Gaussian noise of
    `noise_std` times each feature's standard deviation over the batch's real frames.
    """

    beta: float = 0.2
    proj_dim: int = 0
    tau_init: float = 1.0
    tau_min: float = field(default=TAU_MIN, metadata={"range": Range(ge=0, lt=1)})
    crop_min: float = 0.8
    mask_prob: float = 0.15
    noise_std: float = 0.1


def feature_view(x: Tensor, mask: Tensor, crop_min: float, mask_prob: float, noise_std: float):
    """One augmented view of ``x [M, T, d_in]`` with `mask` ``[M, T]`` -> ``(x', mask')``.

    Batched: a random crop (in rank order of the real frames), random frame dropping (the mask
    changes, the values stay), and Gaussian noise scaled per feature. Needs the global RNG only.
    """
    x = x.float()
    m = x.shape[0]
    lengths = mask.sum(1).float()  # [M]
    keep_frac = crop_min + (1.0 - crop_min) * torch.rand(m, device=x.device)
    crop = torch.clamp(torch.ceil(lengths * keep_frac), min=1.0)
    start = torch.floor(torch.rand(m, device=x.device) * (lengths - crop + 1))
    rank = mask.long().cumsum(1) - 1  # rank of each real frame
    new_mask = mask & (rank >= start.unsqueeze(1)) & (rank < (start + crop).unsqueeze(1))
    if mask_prob > 0:
        dropped = new_mask & (torch.rand(mask.shape, device=x.device) >= mask_prob)
        empty = dropped.sum(1) == 0
        new_mask = torch.where(empty.unsqueeze(1), new_mask, dropped)
    if noise_std > 0:
        real = x[mask]
        std = real.std(0, unbiased=False) if real.shape[0] > 1 else x.new_ones(x.shape[-1])
        x = x + noise_std * std * torch.randn_like(x)
    return x * new_mask.unsqueeze(-1).to(x.dtype), new_mask


@AUGMENTATIONS.register("cmie", config=CMIEConfig)
class CMIE(Augmentation):
    """Contrastive MI estimation on two feature-space views (Table 4 row "CMIE", ref. [14]).

    No autoencoder, no MSE, no KLD. `input_views(batch)` makes two views of each modality by
    feature-space augmentation of the cached inputs (crop, frame/token masking, Gaussian noise;
    see `CMIEConfig`); the model passes both through the same adapters and calls ``forward(...,
    views=[view1, view2])``. The three terms of eq. 14-16 (paper form) are computed with
    z = g(cls(view 1)) as anchor and z~ = g(cls(view 2)) in place of the AE outputs; cls is the
    masked mean. The fusion encoder receives the un-augmented adapter outputs. Loss term:
    ``contrastive`` = beta * L_c.
    """

    def __init__(self, config: CMIEConfig, d: int, num_classes: int) -> None:
        super().__init__()
        self.config = config
        proj_dim = config.proj_dim or d
        self.g_audio = projection(d, proj_dim)
        self.g_text = projection(d, proj_dim)
        self.tau = _Temperature(config.tau_init, config.tau_min)

    def input_views(self, batch: Batch) -> list[Batch]:
        c = self.config
        views = []
        for _ in range(2):
            audio, audio_mask = feature_view(
                batch.audio, batch.audio_mask, c.crop_min, c.mask_prob, c.noise_std
            )
            text, text_mask = feature_view(
                batch.text, batch.text_mask, c.crop_min, c.mask_prob, c.noise_std
            )
            views.append(Batch(audio, audio_mask, text, text_mask, batch.labels, batch.ids))
        return views

    def forward(self, audio, audio_mask, text, text_mask, labels, views=None):  # noqa: D102
        if not views or len(views) != 2:
            raise RuntimeError("cmie needs the two adapted views from input_views()")
        (a1, am1, t1, tm1), (a2, am2, t2, tm2) = views
        z_s, z_s_aug = self.g_audio(masked_mean(a1, am1)), self.g_audio(masked_mean(a2, am2))
        z_t, z_t_aug = self.g_text(masked_mean(t1, tm1)), self.g_text(masked_mean(t2, tm2))
        l_c = paper_contrastive(z_s, z_s_aug, z_t, z_t_aug, self.tau())
        return audio, text, {"contrastive": self.config.beta * l_c}

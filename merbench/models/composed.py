"""The `composed` model (alias `drkf`): adapters -> augmentation -> fusion -> EC (+ ED).

DRKF, its Table 4 ablations and the early-fusion, unimodal and MulT-style baselines are this one
model with other plugins on its roles (docs/design.md). Total loss (eq. 21):
``L = [alpha*L_MSE + L_KLD + beta*L_c]  (augmentation terms, weighted by the augmentation's own
config) + gamma*L_f + delta*L_b``, paper values 0.2, 1, 0.2, 1.0, 0.2.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from torch import Tensor

from merbench.models.adapted import AdaptedModel, component
from merbench.models.base import Batch, ModelSpec
from merbench.models.losses import classification_loss, total_loss
from merbench.models.pairs import all_pairs, ed_loss, ed_selection, matched, pair_labels
from merbench.registry import FUSIONS, MODELS, Component


@dataclass
class ComposedConfig:
    """Config of the `composed` model.

    `d` common width of the adapter outputs (paper 1024); `variant` ``paper`` | ``code`` (pairs and
    loss of the ED); `ed` train the ED head on Emodality-shuffled pairs; `gamma` weight of the EC
    loss L_f (paper 1.0); `delta` weight of the ED loss L_b (paper 0.2); `label_smoothing` of the
    EC cross-entropy; `ed_pos_weight` weight of same-emotion pairs in the ED loss (1.0 = off).
    Defaults with the default roles give the Table 4 row "BME" (self fusion, no augmentation, no ED).
    """

    d: int = 64
    variant: Literal["paper", "code"] = "paper"
    ed: bool = False
    gamma: float = 1.0
    delta: float = 0.2
    label_smoothing: float = 0.0
    ed_pos_weight: float = 1.0


@MODELS.register("composed", config=ComposedConfig, aliases=("drkf",))
class ComposedModel(AdaptedModel):
    """Adapters (one per modality, same plugin) -> augmentation (training only) -> fusion -> EC,
    plus the ED head on all M^2 (audio_i, text_j) pairs when `ed` is on.

    ``losses(batch)``: augmentation terms (``mse``, ``kld``, ``contrastive`` as the plugin gives
    them), ``ec`` = gamma * L_f, ``ed`` = delta * L_b, and ``total``. With `ed` on, one fusion pass
    runs over the M^2 pairs and the EC reads the matched ones (i, i). ``logits(batch) -> [M, C]``:
    one fusion pass over matched pairs, no pairs, no augmentation loss; the fusion encoder receives
    the augmentation's `fusion_inputs` (PCMI paper variant: the f_AE outputs), as in training.
    ``embed(batch) -> [M, out_dim]``.
    """

    roles: dict[str, tuple[str, str]] = {
        "adapter": ("adapters", "linear"),
        "augmentation": ("augmentations", "none"),
        "fusion": ("fusions", "self"),
        "ec": ("heads", "mlp"),
        "ed": ("heads", "mlp"),
    }

    @classmethod
    def reads(cls, config: ComposedConfig, components: dict[str, Component]) -> frozenset[str]:
        """Modalities a resolved configuration reads: its fusion's (the `modalities` field of its
        config, as `PoolFusion`'s, else the class's `modalities`), or both when an augmentation or
        the ED head (which pair audio with text) is on."""
        if config.ed or components["augmentation"].name != "none":
            return frozenset({"audio", "text"})
        fusion = components["fusion"]
        declared = getattr(fusion.config, "modalities", None)
        return frozenset(declared or FUSIONS.get(fusion.name).obj.modalities)

    def __init__(self, config: ComposedConfig, spec: ModelSpec) -> None:
        super().__init__(spec, config.d)
        self.config = config
        d, c = config.d, spec.num_classes
        self.augmentation = component(spec, self.roles, "augmentation").build(d, c)
        self.fusion = component(spec, self.roles, "fusion").build(d)
        self.ec = component(spec, self.roles, "ec").build(self.fusion.out_dim, c)
        self.ed_head = None
        if config.ed:
            out = 1 if config.variant == "paper" else 2
            self.ed_head = component(spec, self.roles, "ed").build(self.fusion.out_dim, out)

    def shared_parameters(self) -> list:
        """The adapters and the fusion encoder: what every loss term acts on."""
        modules = (self.audio_adapter, self.text_adapter, self.fusion)
        return [p for m in modules for p in m.parameters() if p.requires_grad]

    def training_pass(self, batch: Batch) -> tuple[Tensor, dict[str, Tensor]]:
        """The training forward: the fused matched representations ``[M, out_dim]`` (what the EC
        reads) and the weighted auxiliary loss terms (augmentation's, and ``ed``)."""
        audio, audio_mask, text, text_mask = self.encode(batch)
        views = self.augmentation.input_views(batch)
        if views:
            adapted = [self.encode(v) for v in views]
            audio, text, losses = self.augmentation(
                audio, audio_mask, text, text_mask, batch.labels, views=adapted
            )
        else:
            audio, text, losses = self.augmentation(
                audio, audio_mask, text, text_mask, batch.labels
            )
        losses = dict(losses)
        m = len(batch)
        if self.ed_head is not None:
            ii, jj = all_pairs(m, audio.device)
            z = self.fusion(audio[ii], audio_mask[ii], text[jj], text_mask[jj])  # [M^2, D]
            z_match = z[matched(m, audio.device)]
            sel = ed_selection(m, self.config.variant, audio.device)
            target = pair_labels(batch.labels, ii[sel], jj[sel])
            l_b = ed_loss(
                self.ed_head(z[sel]), target, self.config.variant, self.config.ed_pos_weight
            )
            losses["ed"] = self.config.delta * l_b
        else:
            z_match = self.fusion(audio, audio_mask, text, text_mask)
        return z_match, losses

    def losses(self, batch: Batch) -> dict[str, Tensor]:
        z_match, losses = self.training_pass(batch)
        l_f = classification_loss(
            self.ec(z_match), batch.labels, self.config.label_smoothing, batch.class_weights
        )
        losses["ec"] = self.config.gamma * l_f
        losses["total"] = total_loss(losses.values())
        return losses

    def embed(self, batch: Batch) -> Tensor:
        audio, audio_mask, text, text_mask = self.encode(batch)
        audio, text = self.augmentation.fusion_inputs(audio, audio_mask, text, text_mask)
        return self.fusion(audio, audio_mask, text, text_mask)

    def logits(self, batch: Batch) -> Tensor:
        return self.ec(self.embed(batch))

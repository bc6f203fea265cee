"""Shared plumbing of the models: the plugin of a role, and the adapter pair with `encode`.

`component` reads a role's resolved plugin from a `ModelSpec`; `AdaptedModel` builds one adapter
per modality from the ``adapter`` role and `encode`s a batch through them.
"""

from __future__ import annotations

from torch import Tensor, nn

from merbench.models.base import Batch, MERModel, ModelSpec
from merbench.registry import Component

BASELINE_ROLES: dict[str, tuple[str, str]] = {
    "adapter": ("adapters", "linear"),
    "ec": ("heads", "mlp"),
}


def component(spec: ModelSpec, roles: dict[str, tuple[str, str]], role: str) -> Component:
    """The resolved plugin of `role`: the spec's `Component` as it is, the spec's
    ``(name, overrides)`` validated, or the role's default plugin with its defaults."""
    kind, default = roles[role]
    given = spec.components.get(role)
    if isinstance(given, Component):
        return given
    name, overrides = given if given is not None else (default, {})
    return Component.resolve(kind, name, dict(overrides or {}))


class AdaptedModel(MERModel):
    """Base of the models with one adapter per modality (same plugin, role ``adapter``): builds the
    pair as ``audio_adapter`` / ``text_adapter`` of width `d`, `encode`s a batch through them, and
    builds the ``ec`` head with `head`."""

    roles: dict[str, tuple[str, str]] = BASELINE_ROLES

    def __init__(self, spec: ModelSpec, d: int) -> None:
        super().__init__()
        self.spec = spec
        adapter = component(spec, self.roles, "adapter")
        self.audio_adapter = adapter.build(spec.audio_dim, d, "audio")
        self.text_adapter = adapter.build(spec.text_dim, d, "text")

    def encode(self, batch: Batch) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Adapter outputs and masks ``(audio [M,Ta',d], audio_mask, text [M,Tt,d], text_mask)``."""
        audio = self.audio_adapter(batch.audio, batch.audio_mask)
        audio_mask = self.audio_adapter.output_mask(batch.audio_mask)
        text = self.text_adapter(batch.text, batch.text_mask)
        text_mask = self.text_adapter.output_mask(batch.text_mask)
        return audio, audio_mask, text, text_mask

    def head(self, in_dim: int, out_dim: int) -> nn.Module:
        return component(self.spec, self.roles, "ec").build(in_dim, out_dim)

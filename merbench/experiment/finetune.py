"""``--finetune``: a recipe whose backbones are trained end to end instead of read from the store.

`finetune_recipe` turns a raw recipe (after its overrides) into its fine-tuned form: the adapter
role becomes ``hf-finetune`` with the backbones that ``[encoders]`` names (``hf:<folder or hub
name>``, or ``minilm``), keeping the adapter options ``hf-finetune`` accepts (``--set
adapter.backbone_lr=...`` etc.); everything a user can get wrong (an encoder that is not a Hugging
Face model, a backbone that is missing or of the wrong modality, an augmentation that needs cached
features) is one UserError, at plan time. `raw_inputs` says whether a resolved config is fed raw
inputs; such runs need no feature store entry (`modalities.needed_encoders` leaves them out).
"""

from __future__ import annotations

from typing import Any

from merbench.errors import UserError

ADAPTER = "hf-finetune"
#: Augmentations that build views of the cached input features (they cannot run on raw inputs).
FEATURE_VIEW_AUGMENTATIONS = ("cmie",)


def raw_inputs(config: Any) -> bool:
    """True when the adapter of `config` (a `ResolvedConfig`) reads raw waveforms and token ids."""
    from merbench.registry import ADAPTERS

    adapter = config.components.get("adapter")
    return adapter is not None and bool(
        getattr(ADAPTERS.get(adapter.name).obj, "raw_inputs", False)
    )


def backbone_path(spec: str, modality: str) -> str:
    """The backbone an encoder spec names (``hf:X`` -> X, ``minilm`` -> minilm), checked."""
    from merbench.encoders.hf_finetune import check_backbone

    spec = spec.strip()
    if spec.startswith("hf:") and spec[3:]:
        path = spec[3:]
    elif spec == "minilm":
        path = spec
    else:
        raise UserError(
            f"--finetune: encoders.{modality} is {spec!r}, not a Hugging Face model; give one "
            f"with --set encoders.{modality}=hf:/path/to/model (or a hub name in the local cache)"
        )
    check_backbone(path, modality)
    return path


def finetune_recipe(recipe: dict[str, Any]) -> list[str]:
    """Make raw `recipe` fine-tune its encoders (in place); return notes on dropped options."""
    from merbench.registry import ADAPTERS

    augmentation = recipe.get("augmentation", {})
    if isinstance(augmentation, dict) and augmentation.get("name") in FEATURE_VIEW_AUGMENTATIONS:
        raise UserError(
            f"--finetune: augmentation {augmentation['name']} builds views of cached features "
            "and cannot run on raw inputs; use pcmi or none"
        )
    encoders = recipe.get("encoders", {})
    from merbench.experiment.encoder_spec import parse_encoder
    from merbench.experiment.resolved import Encoders

    paths = {
        f"{m}_path": backbone_path(
            parse_encoder(encoders.get(m, getattr(Encoders(), m)), f"encoders.{m}").name, m
        )
        for m in ("audio", "text")
    }
    adapter = recipe.get("adapter", {})
    adapter = dict(adapter) if isinstance(adapter, dict) else {}
    accepted = set(ADAPTERS.get(ADAPTER).config_fields())
    previous = adapter.pop("name", "linear")
    kept = {k: v for k, v in adapter.items() if k in accepted}
    dropped = sorted(set(adapter) - accepted)
    recipe["adapter"] = {"name": ADAPTER, **kept, **paths}
    if previous != ADAPTER and dropped:
        return [f"--finetune: adapter {previous} -> {ADAPTER}; not used: {', '.join(dropped)}"]
    return []

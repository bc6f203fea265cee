"""A Hugging Face backbone prepared for end-to-end training (``--finetune``): found, checked
against its modality, loaded trainable, partly frozen, with optional gradient checkpointing.

`find_backbone` and `check_backbone` read files only (no torch); `load_trainable` imports
transformers. Audio backbones must be of the wav2vec2 family (they read raw 16 kHz waveforms);
text backbones are any `AutoModel` encoder with a tokenizer. ``minilm`` names the packaged MiniLM.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from merbench.encoders.hf_models import (
    AUDIO_MODEL_TYPES,
    WAV2VEC2_FAMILY,
    ModelInfo,
    load_model,
    read_model_info,
)
from merbench.encoders.hub import find_model
from merbench.errors import UserError


def find_backbone(path: str) -> Path:
    """The local folder of backbone `path`: a model folder, a hub name in the local cache, or
    ``minilm`` (the packaged MiniLM); a UserError otherwise."""
    if path == "minilm":
        from merbench.encoders.text import minilm_folder

        return minilm_folder()
    return find_model(path)


def check_backbone(path: str, modality: str) -> ModelInfo:
    """`ModelInfo` of backbone `path` after checking it can be fine-tuned as `modality`: audio
    needs a wav2vec2-family model, text a model that is not an audio one."""
    info = read_model_info(find_backbone(path))
    if modality == "audio" and info.model_type not in WAV2VEC2_FAMILY:
        raise UserError(
            f"{path}: a {info.model_type or 'model'} model cannot be fine-tuned as the audio "
            f"backbone; it must read raw waveforms ({', '.join(sorted(WAV2VEC2_FAMILY))})"
        )
    if modality == "text" and info.model_type in AUDIO_MODEL_TYPES:
        raise UserError(f"{path}: a {info.model_type} model is audio; the text backbone reads text")
    return info


def transformer_layers(model: Any) -> list[Any]:
    """The stack of transformer layers of a backbone (wav2vec2: ``encoder.layers``, BERT and
    RoBERTa: ``encoder.layer``), bottom first."""
    encoder = getattr(model, "encoder", None)
    layers = getattr(encoder, "layers", None) or getattr(encoder, "layer", None)
    if layers is None:
        raise UserError(f"{type(model).__name__}: no encoder layers found to freeze")
    return list(layers)


def freeze(module: Any) -> None:
    for p in module.parameters():
        p.requires_grad_(False)


def freeze_below(model: Any, count: int, modality: str) -> None:
    """Freeze the first `count` transformer layers of `model` and everything under them (text:
    the embeddings; audio: the feature encoder, its projection and the positional convolution).
    `count` = 0 freezes nothing; more than the model has is a UserError."""
    layers = transformer_layers(model)
    if not 0 <= count <= len(layers):
        raise UserError(
            f"adapters/hf-finetune.freeze_layers={count}: the backbone has {len(layers)} layers"
        )
    if count == 0:
        return
    if modality == "text":
        freeze(model.embeddings)
    else:
        freeze_feature_encoder(model)
        for name in ("feature_projection", "masked_spec_embed"):
            part = getattr(model, name, None)
            if hasattr(part, "parameters"):  # a module
                freeze(part)
            elif part is not None:  # a parameter (the learned mask embedding)
                part.requires_grad_(False)
        pos = getattr(model.encoder, "pos_conv_embed", None)
        if pos is not None:
            freeze(pos)
        norm = getattr(model.encoder, "layer_norm", None)
        if norm is not None and not getattr(model.config, "do_stable_layer_norm", True):
            freeze(norm)  # post-norm models (wav2vec2-base) normalise before the first layer
    for layer in layers[:count]:
        freeze(layer)


def freeze_feature_encoder(model: Any) -> None:
    """Freeze the convolutional front end of a wav2vec2-family model (as usual when fine-tuning:
    its gradients are not even computed)."""
    method = getattr(model, "freeze_feature_encoder", None)
    if method is not None:
        method()
    else:
        freeze(model.feature_extractor)


def load_trainable(
    path: str,
    modality: str,
    *,
    freeze_feature_encoder_: bool = True,
    freeze_layers: int = 0,
    gradient_checkpointing: bool = False,
) -> Any:
    """The backbone `path` loaded trainable (train mode) for `modality`, with its feature encoder
    frozen (audio, `freeze_feature_encoder_`), its first `freeze_layers` transformer layers frozen
    (`freeze_below`) and gradient checkpointing (recompute activations in the backward pass:
    less memory, about one more forward of time) when asked."""
    info = check_backbone(path, modality)
    model = load_model(info.folder, frozen=False)
    model.train()
    if modality == "audio" and freeze_feature_encoder_:
        freeze_feature_encoder(model)
    freeze_below(model, freeze_layers, modality)
    if gradient_checkpointing:
        if not getattr(model, "supports_gradient_checkpointing", False):
            raise UserError(f"{path}: {type(model).__name__} has no gradient checkpointing")
        kwargs = {"use_reentrant": False}  # gradients reach every layer, frozen ones or not
        enable = getattr(model, "activation_checkpointing_enable", None)  # transformers >= 5
        if enable is not None:
            enable(activation_checkpointing_kwargs=kwargs)
        else:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)
    return model

"""Any Hugging Face model as a frozen encoder: ``hf:<name-or-path>`` (audio or text, by its config).

Audio: the wav2vec2 family (wav2vec2, HuBERT, WavLM, data2vec-audio, UniSpeech...) and the Whisper
encoder. Text: any `AutoModel` encoder with a tokenizer (BERT, RoBERTa, XLM-R, Chinese RoBERTa...).
Options pick the hidden layer (an index, the last, the average or a weighted sum of all layers) and
the pooling (none: one vector per frame/token; mean / max / first: one vector per utterance).

A model is a local folder or a hub name, downloaded into the Hugging Face cache when the machine is
online and pinned to the commit its revision resolved to (part of the feature key). Offline
(`--offline` or ``HF_HUB_OFFLINE=1``) a hub name must already be in the cache (``huggingface-cli
download NAME`` on a connected machine); a model that is not there is one `UserError`, at once. transformers and torch
are imported only when a model is loaded.

The parts: `merbench.encoders.hf_models` reads and loads a model folder, `hf_frames` runs the
forward passes and pools, `hf_finetune` prepares a backbone for ``--finetune``; this file holds
the encoder classes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from merbench.encoders import hf_frames
from merbench.encoders.base import Encoder
from merbench.encoders.hf_frames import CNN_CHUNK_BYTES, pool, select_layer
from merbench.encoders.hf_models import (
    AUDIO_MODEL_TYPES,
    WAV2VEC2_FAMILY,
    load_model,
    load_processor,
    read_model_info,
)
from merbench.encoders.hub import resolve_model
from merbench.errors import UserError
from merbench.registry import ENCODERS

__all__ = [
    "AUDIO_MODEL_TYPES",
    "CNN_CHUNK_BYTES",
    "WAV2VEC2_FAMILY",
    "HFBackbone",
    "HFEncoder",
    "HFEncoderConfig",
    "Pooling",
    "pool",
    "select_layer",
]

Pooling = Literal["none", "mean", "max", "first"]
LAYER_NAMES = ("last", "mean", "weighted", "learned")


@dataclass
class HFEncoderConfig:
    """Options of ``hf:<name-or-path>``.

    model: hub name (``FacebookAI/roberta-large``) or local folder saved with ``save_pretrained``.
    revision: hub revision (branch, tag or commit) to take from the local cache.
    layer: ``"last"`` (default: the model's final output), a hidden-state index (``"0"`` is the
        embedding / CNN output, ``"-1"`` the last layer), ``"mean"`` (average of all hidden states,
        embeddings included), ``"weighted"`` (weighted sum with `layer_weights`) or ``"learned"``:
        every hidden state side by side, ``[T, (num_layers + 1) * d]`` (cached in the store as
        all the others, fp16), and the model learns softmax weights over them with its head
        (the SUPERB featuriser, `merbench.models.layer_mix`).
    layer_weights: one weight per hidden state (num_layers + 1), normalised to sum 1; for "weighted".
    pooling: ``"none"`` keeps the sequence ``[T, d]``; ``"mean"``, ``"max"``, ``"first"`` give ``[1, d]``.
    max_length: text only, tokens kept per utterance (longer texts are truncated).
    max_seconds: audio only, seconds kept per utterance (Whisper sees at most 30 s); 0 = no limit.
    modality: ``"auto"`` reads it from the model config; force ``"audio"`` or ``"text"`` otherwise.
    """

    model: str = ""
    revision: str = "main"
    layer: str = "last"
    layer_weights: tuple[float, ...] = ()
    pooling: Pooling = "none"
    max_length: int = 512
    max_seconds: float = 0.0
    modality: Literal["auto", "audio", "text"] = "auto"

    def __post_init__(self) -> None:
        named = self.layer in LAYER_NAMES
        if not named and not self.layer.lstrip("-").isdigit():
            raise UserError(
                f"hf encoder: layer {self.layer!r} is not {', '.join(LAYER_NAMES)} or a "
                "hidden-state index (0 = embeddings, -1 = last layer)"
            )
        if self.layer == "learned" and self.pooling != "none":
            raise UserError("hf encoder: layer = learned keeps frames; it needs pooling = none")
        if self.layer_weights and self.layer != "weighted":
            raise UserError("hf encoder: layer_weights needs layer = weighted")


class HFBackbone(Encoder):
    """Shared machinery of Hugging Face encoders: resolve, read the config, load lazily, encode.

    A subclass (or `HFEncoder`) provides `model_folder()` -> (folder, weights identity). The config
    object has `layer`, `layer_weights`, `pooling`, `max_length` (and may have `max_seconds`,
    `modality`).
    Weights are loaded on the first `encode`, so a store hit never loads a model.
    """

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        self.folder, self._identity = self.model_folder()
        info = read_model_info(self.folder, getattr(config, "modality", "auto"))
        self.hf_config: dict[str, Any] = info.config
        self.modality, self.model_type = info.modality, info.model_type
        self.hidden_dim, self.num_layers = info.dim, info.num_layers
        #: hidden states side by side in each frame: num_layers + 1 for layer = learned, else 1
        self.stacked_layers = info.num_layers + 1 if config.layer == "learned" else 1
        self.dim = self.hidden_dim * self.stacked_layers
        self.sample_rate, self.frame_rate = info.sample_rate, info.frame_rate
        self._stride = info.stride
        self._model: Any = None
        self._processor: Any = None

    # -- identity -----------------------------------------------------------------------------
    def model_folder(self) -> tuple[Path, str]:  # pragma: no cover - abstract
        raise NotImplementedError

    def weights_identity(self) -> str:
        return self._identity

    # -- loading --------------------------------------------------------------------------------
    def processor(self) -> Any:
        """The tokenizer (text) or feature extractor (audio), loaded from the model folder."""
        if self._processor is None:
            self._processor = load_processor(self.folder, self.modality)
            if self.modality == "audio":
                self.sample_rate = int(getattr(self._processor, "sampling_rate", 16000))
        return self._processor

    def model(self) -> Any:
        """The frozen model (eval mode, on `self.device`), loaded on first use."""
        if self._model is None:
            self._model = load_model(self.folder, frozen=True).to(self.device)
        return self._model

    def to(self, device: str) -> Encoder:
        self.device = device
        if self._model is not None:
            self._model.to(device)
        return self

    # -- batching hints ------------------------------------------------------------------------
    def input_length(self, x: Any) -> int:
        if self.modality == "text":
            tok = self.processor()
            n = len(tok(x, truncation=True, max_length=self.config.max_length)["input_ids"])
            return max(n, 1)
        return len(x)

    def batch_bytes(self, lengths: list[int]) -> int:
        """Activation estimate: kept hidden states, FFN, attention maps, first conv output."""
        return hf_frames.batch_bytes(self, lengths)

    # -- encoding -------------------------------------------------------------------------------
    def encode(self, inputs: list[Any]) -> list[np.ndarray]:
        """One float32 ``[T_i, dim]`` per input (``[1, dim]`` when pooled); padded batch + masks."""
        if not inputs:
            return []
        import torch

        with torch.inference_mode():
            if self.modality == "text":
                states, valid = hf_frames.forward_text(self, list(inputs))
            elif self.model_type == "whisper":
                states, valid = hf_frames.forward_whisper(self, inputs)
            else:
                states, valid = hf_frames.forward_wav2vec2(self, inputs)
            self.forward_calls += 1
            states = states.float().cpu().numpy()
        out = []
        for i, mask in enumerate(valid):
            seq = states[i][mask]
            if seq.shape[0] == 0:  # nothing valid (cannot happen for real inputs): keep one frame
                seq = states[i][:1]
            out.append(np.ascontiguousarray(pool(seq, self.config.pooling), dtype=np.float32))
        return out


@ENCODERS.register("hf", config=HFEncoderConfig)
class HFEncoder(HFBackbone):
    """``hf:<name-or-path>``: a Hugging Face audio or text model as a frozen encoder."""

    name = "hf"

    def model_folder(self) -> tuple[Path, str]:
        return resolve_model(self.config.model, self.config.revision)

    def key(self) -> dict[str, Any]:
        """As `Encoder.key`, but a local folder is named by its checkpoint hash alone, so the same
        weights reached by another path (relative, copied, moved) share one store entry."""
        key = super().key()
        if self._identity.startswith("sha256:"):
            key["config"] = {**key["config"], "model": "local", "revision": ""}
        return key

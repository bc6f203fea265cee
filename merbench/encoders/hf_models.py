"""Reading and loading a Hugging Face model folder: what kind of model it is, its tokenizer or
feature extractor, and its weights (frozen for the ``hf`` encoder, trainable for ``--finetune``).

`read_model_info` reads ``config.json`` (and ``preprocessor_config.json``) only: no torch, no
transformers. `load_processor` and `load_model` import transformers when called; every failure a
user can cause (a folder that is not a model, a missing tokenizer) is one `UserError` naming it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from merbench.errors import UserError

#: `model_type` values of audio models whose waveform front end is the wav2vec2 convolution stack.
WAV2VEC2_FAMILY = {
    "wav2vec2",
    "wav2vec2-conformer",
    "hubert",
    "wavlm",
    "data2vec-audio",
    "unispeech",
    "unispeech-sat",
    "sew",
    "sew-d",
}
AUDIO_MODEL_TYPES = WAV2VEC2_FAMILY | {"whisper"}


@dataclass(frozen=True)
class ModelInfo:
    """What ``config.json`` says of a model: `model_type`, `modality` (audio or text), hidden
    width `dim`, `num_layers`, and for audio the input `sample_rate` (Hz), the samples per output
    frame `stride` and `frame_rate` (frames/s); None for text."""

    folder: Path
    config: dict[str, Any]
    model_type: str
    modality: Literal["audio", "text"]
    dim: int
    num_layers: int
    sample_rate: int | None
    stride: int | None
    frame_rate: float | None


def read_model_info(folder: Path, modality: str = "auto") -> ModelInfo:
    """The `ModelInfo` of the model saved in `folder`; `modality` ``auto`` reads it from the
    model type. A folder without a readable ``config.json`` or without a hidden width is a
    UserError."""
    try:
        with open(folder / "config.json", encoding="utf-8") as f:
            config: dict[str, Any] = json.load(f)
    except (OSError, ValueError) as exc:
        raise UserError(f"{folder}: not a Hugging Face model folder ({exc})") from None
    model_type = str(config.get("model_type", ""))
    if modality == "auto":
        modality = "audio" if model_type in AUDIO_MODEL_TYPES else "text"
    dim = int(config.get("hidden_size") or config.get("d_model") or config.get("dim") or 0)
    layers = (
        config.get("num_hidden_layers") or config.get("encoder_layers") or config.get("n_layers")
    )
    if not dim:
        raise UserError(f"{folder}/config.json: no hidden_size/d_model; not an encoder?")
    sample_rate = stride = frame_rate = None
    if modality == "audio":
        sample_rate = 16000
        preprocessor = folder / "preprocessor_config.json"
        if preprocessor.is_file():
            rate = json.loads(preprocessor.read_text("utf-8")).get("sampling_rate")
            sample_rate = int(rate or 16000)
        if model_type == "whisper":
            stride, frame_rate = 320, 50.0
        else:
            stride = int(np.prod(config.get("conv_stride") or [5, 2, 2, 2, 2, 2, 2]))
            frame_rate = sample_rate / stride
    return ModelInfo(
        folder, config, model_type, modality, dim, int(layers or 0),  # type: ignore[arg-type]
        sample_rate, stride, frame_rate,
    )  # fmt: skip


def load_processor(folder: Path, modality: str) -> Any:
    """The tokenizer (text; right padding) or feature extractor (audio; wav2vec2 defaults when the
    folder has none) of the model in `folder`."""
    import transformers

    if modality == "text":
        try:
            tok = transformers.AutoTokenizer.from_pretrained(str(folder))
        except (OSError, ValueError, KeyError) as exc:
            raise UserError(f"{folder}: cannot load its tokenizer ({exc})") from None
        tok.padding_side = "right"
        return tok
    try:
        return transformers.AutoFeatureExtractor.from_pretrained(str(folder))
    except (OSError, ValueError):  # no preprocessor_config.json: wav2vec2 defaults
        return transformers.Wav2Vec2FeatureExtractor(do_normalize=True)


def load_model(folder: Path, *, frozen: bool = True) -> Any:
    """The model in `folder` (`AutoModel`; the encoder alone of an encoder-decoder such as
    Whisper). `frozen`: eval mode and no gradients (the ``hf`` encoder); otherwise as loaded,
    trainable (``--finetune``)."""
    import transformers
    from transformers.utils import logging as hf_logging

    bar = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # no "Loading weights" bar inside our own progress
    try:
        model = transformers.AutoModel.from_pretrained(str(folder))
    except (OSError, ValueError, KeyError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"{folder}: cannot load the model ({first})") from None
    finally:
        if bar:
            hf_logging.enable_progress_bar()
    if getattr(model.config, "model_type", "") == "whisper" or (
        getattr(model.config, "is_encoder_decoder", False) and hasattr(model, "get_encoder")
    ):
        model = model.get_encoder()
    if frozen:
        model.eval()
        for p in model.parameters():
            p.requires_grad_(False)
    return model

"""Any Hugging Face model as a frozen encoder: ``hf:<name-or-path>`` (audio or text, by its config).

Audio: the wav2vec2 family (wav2vec2, HuBERT, WavLM, data2vec-audio, UniSpeech...) and the Whisper
encoder. Text: any `AutoModel` encoder with a tokenizer (BERT, RoBERTa, XLM-R, Chinese RoBERTa...).
Options pick the hidden layer (an index, the last, the average or a weighted sum of all layers) and
the pooling (none: one vector per frame/token; mean / max / first: one vector per utterance).

Models are found offline by default: a local folder, or a name already in the Hugging Face cache
(``huggingface-cli download NAME`` on a connected machine). A model that is not there is one
`UserError`, at once; set ``HF_HUB_OFFLINE=0`` to let the hub download it. transformers and torch
are imported only when a model is loaded.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from merbench.encoders.base import Encoder
from merbench.encoders.hub import resolve_model
from merbench.errors import UserError
from merbench.registry import ENCODERS

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

Pooling = Literal["none", "mean", "max", "first"]

#: On CPU, the wav2vec2 convolution stack runs on chunks of waveforms whose first-layer output
#: stays under this size (cache-friendly); the transformer then runs on the whole padded batch.
CNN_CHUNK_BYTES = 8 * 2**20


@dataclass
class HFEncoderConfig:
    """Options of ``hf:<name-or-path>``.

    model: hub name (``FacebookAI/roberta-large``) or local folder saved with ``save_pretrained``.
    revision: hub revision (branch, tag or commit) to take from the local cache.
    layer: ``"last"`` (default: the model's final output), a hidden-state index (``"0"`` is the
        embedding / CNN output, ``"-1"`` the last layer), ``"mean"`` (average of all hidden states,
        embeddings included) or ``"weighted"`` (weighted sum with `layer_weights`).
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


def select_layer(hidden_states: tuple[Any, ...], last: Any, layer: str, weights: tuple) -> Any:
    """The ``[B, T, d]`` tensor that option `layer` designates among the model's hidden states."""
    if layer == "last":
        return last
    if layer == "mean":
        return sum(hidden_states) / len(hidden_states)
    if layer == "weighted":
        if len(weights) != len(hidden_states):
            raise UserError(
                f"hf encoder: layer_weights has {len(weights)} values, the model has "
                f"{len(hidden_states)} hidden states (layers + embeddings)"
            )
        total = float(sum(weights))
        return sum(float(w) / total * h for w, h in zip(weights, hidden_states, strict=True))
    try:
        index = int(layer)
        return hidden_states[index]
    except (ValueError, IndexError):
        raise UserError(
            f"hf encoder: layer {layer!r} is not last, mean, weighted or an index in "
            f"[-{len(hidden_states)}, {len(hidden_states) - 1}]"
        ) from None


def pool(x: np.ndarray, pooling: str) -> np.ndarray:
    """Pool a ``[T, d]`` sequence: none keeps it, mean / max / first give ``[1, d]``."""
    if pooling == "none":
        return x
    if pooling == "mean":
        return x.mean(axis=0, keepdims=True)
    if pooling == "max":
        return x.max(axis=0, keepdims=True)
    if pooling == "first":
        return x[:1]
    raise UserError(f"hf encoder: unknown pooling {pooling!r}; valid: none, mean, max, first")


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
        with open(self.folder / "config.json", encoding="utf-8") as f:
            self.hf_config: dict[str, Any] = json.load(f)
        model_type = self.hf_config.get("model_type", "")
        modality = getattr(config, "modality", "auto")
        if modality == "auto":
            modality = "audio" if model_type in AUDIO_MODEL_TYPES else "text"
        self.modality = modality
        self.model_type = model_type
        cfg = self.hf_config
        self.dim = int(cfg.get("hidden_size") or cfg.get("d_model") or cfg.get("dim") or 0)
        self.num_layers = int(
            cfg.get("num_hidden_layers") or cfg.get("encoder_layers") or cfg.get("n_layers") or 0
        )
        if not self.dim:
            raise UserError(f"{self.folder}/config.json: no hidden_size/d_model; not an encoder?")
        if self.modality == "audio":
            self.sample_rate = 16000
            preprocessor = self.folder / "preprocessor_config.json"
            if preprocessor.is_file():
                rate = json.loads(preprocessor.read_text("utf-8")).get("sampling_rate")
                self.sample_rate = int(rate or 16000)
            if model_type == "whisper":
                self.frame_rate = 50.0
                self._stride = 320
            else:
                strides = self.hf_config.get("conv_stride") or [5, 2, 2, 2, 2, 2, 2]
                self._stride = int(np.prod(strides))
                self.frame_rate = self.sample_rate / self._stride
        else:
            self.sample_rate = None
            self.frame_rate = None
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
            import transformers

            if self.modality == "text":
                try:
                    tok = transformers.AutoTokenizer.from_pretrained(str(self.folder))
                except (OSError, ValueError, KeyError) as exc:
                    raise UserError(f"{self.folder}: cannot load its tokenizer ({exc})") from None
                tok.padding_side = "right"
                self._processor = tok
            else:
                try:
                    fe = transformers.AutoFeatureExtractor.from_pretrained(str(self.folder))
                except (OSError, ValueError):  # no preprocessor_config.json: wav2vec2 defaults
                    fe = transformers.Wav2Vec2FeatureExtractor(do_normalize=True)
                self._processor = fe
                self.sample_rate = int(getattr(fe, "sampling_rate", 16000))
        return self._processor

    def model(self) -> Any:
        """The frozen model (eval mode, on `self.device`), loaded on first use."""
        if self._model is None:
            import transformers
            from transformers.utils import logging as hf_logging

            bar = hf_logging.is_progress_bar_enabled()
            hf_logging.disable_progress_bar()  # no "Loading weights" bar inside our own progress
            try:
                model = transformers.AutoModel.from_pretrained(str(self.folder))
            except (OSError, ValueError, KeyError) as exc:
                first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise UserError(f"{self.folder}: cannot load the model ({first})") from None
            finally:
                if bar:
                    hf_logging.enable_progress_bar()
            if self.model_type == "whisper" or (
                getattr(model.config, "is_encoder_decoder", False) and hasattr(model, "get_encoder")
            ):
                model = model.get_encoder()
            model.eval()
            for p in model.parameters():
                p.requires_grad_(False)
            self._model = model.to(self.device)
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
        if not lengths:
            return 0
        cfg = self.hf_config
        hidden = self.dim
        inter = int(cfg.get("intermediate_size") or cfg.get("encoder_ffn_dim") or 4 * hidden)
        heads = int(cfg.get("num_attention_heads") or cfg.get("encoder_attention_heads") or 1)
        longest, count = max(lengths), len(lengths)
        front = 0.0
        if self.modality == "audio":
            frames = 1500 if self.model_type == "whisper" else math.ceil(longest / self._stride)
            if self.model_type == "whisper":
                front = count * 30 * 16000 * 4 * 2.0  # 30 s log-mel input and its first conv
            else:
                # First conv layer output, about four live copies (conv, norm, activation)
                # measured: +99 MB for one 8 s waveform with 256 channels, estimate 105 MB. On CPU
                # the convolutions run in chunks of at most CNN_CHUNK_BYTES (or one waveform).
                conv0 = (cfg.get("conv_dim") or [512])[0]
                first = longest * 4 * conv0 / (cfg.get("conv_stride") or [5])[0]
                chunk = first * count
                if not str(self.device).startswith("cuda"):
                    chunk = max(min(chunk, CNN_CHUNK_BYTES), first)
                front = 4 * chunk + count * longest * 4 * 2  # + padded and normalised input
        else:
            frames = longest
        per_item = 4 * (
            frames * (self.num_layers + 2) * hidden + frames * inter + 3 * heads * frames * frames
        )
        return int(count * per_item + front)

    # -- encoding -------------------------------------------------------------------------------
    def encode(self, inputs: list[Any]) -> list[np.ndarray]:
        """One float32 ``[T_i, dim]`` per input (``[1, dim]`` when pooled); padded batch + masks."""
        if not inputs:
            return []
        import torch

        with torch.inference_mode():
            if self.modality == "text":
                states, valid = self._forward_text(list(inputs))
            elif self.model_type == "whisper":
                states, valid = self._forward_whisper(inputs)
            else:
                states, valid = self._forward_wav2vec2(inputs)
            self.forward_calls += 1
            states = states.float().cpu().numpy()
        out = []
        for i, mask in enumerate(valid):
            seq = states[i][mask]
            if seq.shape[0] == 0:  # nothing valid (cannot happen for real inputs): keep one frame
                seq = states[i][:1]
            out.append(np.ascontiguousarray(pool(seq, self.config.pooling), dtype=np.float32))
        return out

    def _select(self, output: Any) -> Any:
        hidden = output.hidden_states if output.hidden_states is not None else ()
        return select_layer(
            tuple(hidden), output.last_hidden_state, self.config.layer, self.config.layer_weights
        )

    def _forward_text(self, texts: list[str]) -> tuple[Any, list[np.ndarray]]:
        tok = self.processor()
        batch = tok(
            texts,
            padding=True,
            truncation=True,
            max_length=self.config.max_length,
            return_tensors="pt",
        )
        batch = {k: v.to(self.device) for k, v in batch.items()}
        need_all = self.config.layer != "last"
        output = self.model()(**batch, output_hidden_states=need_all)
        mask = batch["attention_mask"].bool().cpu().numpy()
        return self._select(output), list(mask)

    def _clip(self, wave: np.ndarray) -> np.ndarray:
        limit = getattr(self.config, "max_seconds", 0.0)
        if limit and limit > 0:
            wave = wave[: int(limit * (self.sample_rate or 16000))]
        return np.asarray(wave, dtype=np.float32)

    def _forward_wav2vec2(self, waves: list[np.ndarray]) -> tuple[Any, list[np.ndarray]]:
        import torch

        fe = self.processor()
        model = self.model()
        # Normalise each waveform on its own (as one-at-a-time would), then pad with zeros.
        values = [
            fe(self._clip(w), sampling_rate=self.sample_rate, return_tensors="np")["input_values"][
                0
            ]
            for w in waves
        ]
        lengths = [len(v) for v in values]
        padded = np.zeros((len(values), max(lengths)), dtype=np.float32)
        mask = np.zeros((len(values), max(lengths)), dtype=np.int64)
        for i, v in enumerate(values):
            padded[i, : len(v)] = v
            mask[i, : len(v)] = 1
        x = torch.from_numpy(padded).to(self.device)
        m = torch.from_numpy(mask).to(self.device)
        need_all = self.config.layer != "last"
        frames = model._get_feat_extract_output_lengths(torch.tensor(lengths)).tolist()
        group_norm = self.hf_config.get("feat_extract_norm", "group") == "group"
        if len(values) > 1 and (group_norm or not str(self.device).startswith("cuda")):
            # Group norm in the first conv layer normalises over time, padding included, so the
            # convolution stack runs per waveform and the padded result feeds the transformer. On
            # CPU the convolutions also run in chunks of at most CNN_CHUNK_BYTES of first-layer
            # output: a padded batch of long waveforms through them is memory-bound (measured 2x
            # slower than one at a time for 8 x 4 s with 256 channels); the transformer is not.
            output = self._forward_precomputed_cnn(model, x, m, lengths, need_all, group_norm)
        else:
            output = model(x, attention_mask=m, output_hidden_states=need_all)
        states = self._select(output)
        valid = [np.arange(states.shape[1]) < int(n) for n in frames]
        return states, valid

    def _forward_precomputed_cnn(
        self,
        model: Any,
        x: Any,
        mask: Any,
        lengths: list[int],
        need_all: bool,
        per_waveform: bool,
    ) -> Any:
        import torch

        cnn = model.feature_extractor
        per_sample = (
            4
            * (self.hf_config.get("conv_dim") or [512])[0]
            / ((self.hf_config.get("conv_stride") or [5])[0])
        )
        chunks: list[list[int]] = []
        for i in sorted(range(len(lengths)), key=lambda i: -lengths[i]):
            chunk = chunks[-1] if chunks else []
            longest = lengths[chunk[0]] if chunk else lengths[i]
            if (
                chunk
                and not per_waveform
                and (len(chunk) + 1) * longest * per_sample <= (CNN_CHUNK_BYTES)
            ):
                chunk.append(i)
            else:
                chunks.append([i])
        total = int(model._get_feat_extract_output_lengths(torch.tensor(max(lengths))))
        batch: Any = None
        for chunk in chunks:
            longest = lengths[chunk[0]]
            feats = cnn(x[chunk, :longest])  # [len(chunk), C, T]; valid frames unaffected by pads
            if batch is None:
                batch = x.new_zeros((len(lengths), feats.shape[1], total))
            batch[chunk, :, : feats.shape[-1]] = feats

        class _Precomputed(torch.nn.Module):
            def forward(self, _values: Any) -> Any:
                return batch

        model.feature_extractor = _Precomputed()
        try:
            return model(x, attention_mask=mask, output_hidden_states=need_all)
        finally:
            model.feature_extractor = cnn

    def _forward_whisper(self, waves: list[np.ndarray]) -> tuple[Any, list[np.ndarray]]:
        import torch

        fe = self.processor()
        clipped = [self._clip(w)[: 30 * (self.sample_rate or 16000)] for w in waves]
        features = fe(clipped, sampling_rate=self.sample_rate, return_tensors="np")
        x = torch.from_numpy(features["input_features"]).to(self.device)
        need_all = self.config.layer != "last"
        output = self.model()(x, output_hidden_states=need_all)
        states = self._select(output)
        valid = [
            np.arange(states.shape[1]) < max(1, math.ceil(len(w) / self._stride)) for w in clipped
        ]
        return states, valid


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

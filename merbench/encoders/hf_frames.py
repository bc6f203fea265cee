"""Frames out of a frozen Hugging Face model: the forward pass of each family on a padded batch
(text, wav2vec2 family, Whisper encoder), the choice of hidden layer, the pooling, and the memory
estimate the feature store batches by.

The functions take the `HFBackbone` (`merbench.encoders.hf`) whose model, processor and options
they use (``enc.config.layer``, ``layer_weights``, ``max_length``, ``max_seconds``); each forward
returns ``(states [B, T, d], valid)`` with `valid` one boolean ``[T]`` mask per input.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from merbench.errors import UserError

#: On CPU, the wav2vec2 convolution stack runs on chunks of waveforms whose first-layer output
#: stays under this size (cache-friendly); the transformer then runs on the whole padded batch.
CNN_CHUNK_BYTES = 8 * 2**20


def select_layer(hidden_states: tuple[Any, ...], last: Any, layer: str, weights: tuple) -> Any:
    """The ``[B, T, d]`` tensor that option `layer` designates among the model's hidden states."""
    if layer == "last":
        return last
    if layer == "mean":
        return sum(hidden_states) / len(hidden_states)
    if layer == "learned":
        import torch

        return torch.cat(hidden_states, dim=-1)  # [B, T, (layers + 1) * d]
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
            f"hf encoder: layer {layer!r} is not last, mean, weighted, learned or an index in "
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


def batch_bytes(enc: Any, lengths: list[int]) -> int:
    """Activation estimate of one padded batch: kept hidden states, FFN, attention maps, first
    conv output (audio)."""
    if not lengths:
        return 0
    cfg = enc.hf_config
    hidden = getattr(enc, "hidden_dim", enc.dim)
    inter = int(cfg.get("intermediate_size") or cfg.get("encoder_ffn_dim") or 4 * hidden)
    heads = int(cfg.get("num_attention_heads") or cfg.get("encoder_attention_heads") or 1)
    longest, count = max(lengths), len(lengths)
    front = 0.0
    if enc.modality == "audio":
        frames = 1500 if enc.model_type == "whisper" else math.ceil(longest / enc._stride)
        if enc.model_type == "whisper":
            front = count * 30 * 16000 * 4 * 2.0  # 30 s log-mel input and its first conv
        else:
            # First conv layer output, about four live copies (conv, norm, activation)
            # measured: +99 MB for one 8 s waveform with 256 channels, estimate 105 MB. On CPU
            # the convolutions run in chunks of at most CNN_CHUNK_BYTES (or one waveform).
            conv0 = (cfg.get("conv_dim") or [512])[0]
            first = longest * 4 * conv0 / (cfg.get("conv_stride") or [5])[0]
            chunk = first * count
            if not str(enc.device).startswith("cuda"):
                chunk = max(min(chunk, CNN_CHUNK_BYTES), first)
            front = 4 * chunk + count * longest * 4 * 2  # + padded and normalised input
    else:
        frames = longest
    per_item = 4 * (
        frames * (enc.num_layers + 2) * hidden + frames * inter + 3 * heads * frames * frames
    )
    if getattr(enc, "stacked_layers", 1) > 1:
        per_item += 4 * frames * enc.dim  # the hidden states stacked side by side
    return int(count * per_item + front)


def selected(enc: Any, output: Any) -> Any:
    """The hidden layer that `enc.config.layer` designates in a model output."""
    hidden = output.hidden_states if output.hidden_states is not None else ()
    return select_layer(
        tuple(hidden), output.last_hidden_state, enc.config.layer, enc.config.layer_weights
    )


def forward_text(enc: Any, texts: list[str]) -> tuple[Any, list[np.ndarray]]:
    tok = enc.processor()
    batch = tok(
        texts, padding=True, truncation=True, max_length=enc.config.max_length, return_tensors="pt"
    )
    batch = {k: v.to(enc.device) for k, v in batch.items()}
    output = enc.model()(**batch, output_hidden_states=enc.config.layer != "last")
    mask = batch["attention_mask"].bool().cpu().numpy()
    return selected(enc, output), list(mask)


def clip(enc: Any, wave: np.ndarray) -> np.ndarray:
    """`wave` as float32, cut to the encoder's ``max_seconds`` when it has one."""
    limit = getattr(enc.config, "max_seconds", 0.0)
    if limit and limit > 0:
        wave = wave[: int(limit * (enc.sample_rate or 16000))]
    return np.asarray(wave, dtype=np.float32)


def normalised(fe: Any, wave: np.ndarray, rate: int | None) -> np.ndarray:
    """One waveform through the feature extractor (wav2vec2: zero mean, unit variance when its
    ``do_normalize``), alone, as one-at-a-time extraction would see it: float32 ``[N]``."""
    return fe(wave, sampling_rate=rate, return_tensors="np")["input_values"][0]


def forward_wav2vec2(enc: Any, waves: list[np.ndarray]) -> tuple[Any, list[np.ndarray]]:
    import torch

    fe = enc.processor()
    model = enc.model()
    # Normalise each waveform on its own (as one-at-a-time would), then pad with zeros.
    values = [normalised(fe, clip(enc, w), enc.sample_rate) for w in waves]
    lengths = [len(v) for v in values]
    padded = np.zeros((len(values), max(lengths)), dtype=np.float32)
    mask = np.zeros((len(values), max(lengths)), dtype=np.int64)
    for i, v in enumerate(values):
        padded[i, : len(v)] = v
        mask[i, : len(v)] = 1
    x = torch.from_numpy(padded).to(enc.device)
    m = torch.from_numpy(mask).to(enc.device)
    need_all = enc.config.layer != "last"
    frames = model._get_feat_extract_output_lengths(torch.tensor(lengths)).tolist()
    group_norm = enc.hf_config.get("feat_extract_norm", "group") == "group"
    if len(values) > 1 and (group_norm or not str(enc.device).startswith("cuda")):
        # Group norm in the first conv layer normalises over time, padding included, so the
        # convolution stack runs per waveform and the padded result feeds the transformer. On
        # CPU the convolutions also run in chunks of at most CNN_CHUNK_BYTES of first-layer
        # output: a padded batch of long waveforms through them is memory-bound (measured 2x
        # slower than one at a time for 8 x 4 s with 256 channels); the transformer is not.
        output = forward_precomputed_cnn(enc, model, x, m, lengths, need_all, group_norm)
    else:
        output = model(x, attention_mask=m, output_hidden_states=need_all)
    states = selected(enc, output)
    valid = [np.arange(states.shape[1]) < int(n) for n in frames]
    return states, valid


def forward_precomputed_cnn(
    enc: Any, model: Any, x: Any, mask: Any, lengths: list[int], need_all: bool, per_wave: bool
) -> Any:
    """The model on `x` with its convolution stack run beforehand, per waveform (`per_wave`) or
    in chunks of at most CNN_CHUNK_BYTES of first-layer output."""
    import torch

    cnn = model.feature_extractor
    cfg = enc.hf_config
    per_sample = 4 * (cfg.get("conv_dim") or [512])[0] / ((cfg.get("conv_stride") or [5])[0])
    chunks: list[list[int]] = []
    for i in sorted(range(len(lengths)), key=lambda i: -lengths[i]):
        chunk = chunks[-1] if chunks else []
        longest = lengths[chunk[0]] if chunk else lengths[i]
        if chunk and not per_wave and (len(chunk) + 1) * longest * per_sample <= CNN_CHUNK_BYTES:
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


def forward_whisper(enc: Any, waves: list[np.ndarray]) -> tuple[Any, list[np.ndarray]]:
    import torch

    fe = enc.processor()
    clipped = [clip(enc, w)[: 30 * (enc.sample_rate or 16000)] for w in waves]
    features = fe(clipped, sampling_rate=enc.sample_rate, return_tensors="np")
    x = torch.from_numpy(features["input_features"]).to(enc.device)
    output = enc.model()(x, output_hidden_states=enc.config.layer != "last")
    states = selected(enc, output)
    valid = [np.arange(states.shape[1]) < max(1, math.ceil(len(w) / enc._stride)) for w in clipped]
    return states, valid

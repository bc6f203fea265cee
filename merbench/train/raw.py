"""Batches of raw inputs for fine-tuned backbones (``--finetune``): waveforms and token ids read
from the corpus, never from the feature store.

`raw_sources(corpus, config)` gives the audio and text sources of a resolved config whose adapter
reads raw inputs (``hf-finetune``); `RawBatchMaker` turns ids into a `Batch` with
``audio [M, N]`` float32 waveforms normalised by the audio backbone's feature extractor (zero
padded, ``audio_mask [M, N]`` True on real samples) and ``text [M, T]`` int64 token ids of the
text backbone's tokenizer (padded with its pad id, ``text_mask [M, T]``). Audio is cropped
centrally to ``max_frames`` backbone frames (``max_frames * stride`` samples) and text truncated
to ``max_tokens`` tokens (special tokens included), as the cached path crops its features.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from merbench.data.base import Corpus
from merbench.encoders.hf_finetune import find_backbone
from merbench.encoders.hf_frames import normalised
from merbench.encoders.hf_models import load_processor, read_model_info
from merbench.models.base import Batch
from merbench.train.batches import BatchMaker, crop

#: Decoded waveforms kept in memory between epochs, at most this many bytes per source.
WAVE_CACHE_BYTES = 512 * 2**20


class RawAudio:
    """Waveforms of `corpus` for the wav2vec2-family backbone in `folder`: ``audio[id]`` is the
    float32 mono waveform ``[N]`` at the backbone's rate; `dim` the backbone width, `stride` its
    samples per output frame, `receptive` the samples its convolutions need for one frame."""

    def __init__(self, corpus: Corpus, backbone: str) -> None:
        info = read_model_info(find_backbone(backbone), "audio")
        self.corpus, self.dim, self.stride = corpus, info.dim, int(info.stride or 320)
        self.extractor = load_processor(info.folder, "audio")
        self.rate = int(getattr(self.extractor, "sampling_rate", info.sample_rate or 16000))
        kernels = info.config.get("conv_kernel") or [10, 3, 3, 3, 3, 2, 2]
        strides = info.config.get("conv_stride") or [5, 2, 2, 2, 2, 2, 2]
        self.receptive = 1 + sum((k - 1) * int(np.prod(strides[:i])) for i, k in enumerate(kernels))
        self.meta: dict[str, Any] = {}
        self._cache: dict[str, np.ndarray] = {}
        self._cached_bytes = 0

    def __getitem__(self, utt_id: str) -> np.ndarray:
        wave = self._cache.get(utt_id)
        if wave is None:
            wave = self.corpus.load_audio(self.corpus[utt_id], self.rate)
            if self._cached_bytes + wave.nbytes <= WAVE_CACHE_BYTES:
                self._cache[utt_id] = wave
                self._cached_bytes += wave.nbytes
        return wave

    def input_values(self, utt_id: str, max_frames: int) -> np.ndarray:
        """The waveform of `utt_id` cropped to `max_frames` frames, normalised as the backbone's
        feature extractor says (after the crop, as extraction with ``max_seconds`` does)."""
        wave = crop(self[utt_id], max_frames * self.stride)
        return normalised(self.extractor, wave, self.rate).astype(np.float32)


class RawText:
    """Token ids of the utterances of `corpus` by the tokenizer of backbone `backbone`
    (``text[id]`` -> int64 ``[T]``, untruncated); `dim` the backbone width, `pad_id` its padding
    token. An utterance without text gets the tokenizer's special tokens alone."""

    def __init__(self, corpus: Corpus, backbone: str) -> None:
        info = read_model_info(find_backbone(backbone), "text")
        self.corpus, self.dim = corpus, info.dim
        self.tokenizer = load_processor(info.folder, "text")
        self.pad_id = int(self.tokenizer.pad_token_id or 0)
        self.meta: dict[str, Any] = {}

    def __getitem__(self, utt_id: str) -> np.ndarray:
        return self.token_ids(utt_id, None)

    def token_ids(self, utt_id: str, max_tokens: int | None) -> np.ndarray:
        text = self.corpus[utt_id].text or ""
        trunc = {"truncation": True, "max_length": max_tokens} if max_tokens else {}
        return np.asarray(self.tokenizer(text, **trunc)["input_ids"], dtype=np.int64)


def pad_1d(
    seqs: Sequence[np.ndarray], value: float, dtype: torch.dtype, width: int = 1
) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack 1-D arrays into ``[M, max(T_max, width)]`` filled with `value`, plus a bool mask."""
    t_max = max(width, *(len(s) for s in seqs))
    out = torch.full((len(seqs), t_max), value, dtype=dtype)
    mask = torch.zeros((len(seqs), t_max), dtype=torch.bool)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = torch.from_numpy(np.asarray(s))
        mask[i, : len(s)] = True
    return out, mask


class RawBatchMaker(BatchMaker):
    """`BatchMaker` over a `RawAudio` and a `RawText`: batches of waveforms and token ids (see
    the module docstring); the audio is padded at least to the backbone's receptive field."""

    audio: RawAudio
    text: RawText

    def length(self, utt_id: str) -> int:
        """Positions `utt_id` takes in a batch, for length bucketing: backbone frames of its
        audio plus its tokens, each within the crop limits."""
        frames = len(self.audio[utt_id]) // self.audio.stride
        return min(frames, self.max_frames) + min(len(self.text[utt_id]), self.max_tokens)

    def make(self, ids: Sequence[str]) -> Batch:
        waves = [self.audio.input_values(i, self.max_frames) for i in ids]
        tokens = [self.text.token_ids(i, self.max_tokens) for i in ids]
        a, am = pad_1d(waves, 0.0, torch.float32, self.audio.receptive)
        t, tm = pad_1d(tokens, self.text.pad_id, torch.long)
        return Batch(a, am, t, tm, self.label_tensor(ids), list(ids))


def raw_sources(corpus: Corpus, config: Any) -> tuple[RawAudio, RawText]:
    """The audio and text sources of a resolved config (`ResolvedConfig`) whose adapter reads raw
    inputs: the backbones named by its ``audio_path`` and ``text_path``."""
    adapter = config.components["adapter"].options()
    return RawAudio(corpus, adapter["audio_path"]), RawText(corpus, adapter["text_path"])

"""Padded batches of cached features for the utterances of one part of a split."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol as TypingProtocol

import numpy as np
import torch

from merbench.data.base import Corpus
from merbench.models.base import Batch
from merbench.train.sampler import bucketed_batches, random_batches


class Features(TypingProtocol):
    """What training needs of a feature-store entry: ``feats[utt_id] -> [T, d]`` and ``dim``."""

    dim: int

    def __getitem__(self, utt_id: str) -> np.ndarray: ...


def crop(x: np.ndarray, limit: int) -> np.ndarray:
    """The central `limit` frames of `x` ``[T, d]`` (all of it when shorter)."""
    if len(x) <= limit:
        return x
    start = (len(x) - limit) // 2
    return x[start : start + limit]


def pad(seqs: Sequence[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack ``[T_i, d]`` arrays into ``[M, T_max, d]`` float32 plus a ``[M, T_max]`` bool mask."""
    t_max = max(len(s) for s in seqs)
    out = np.zeros((len(seqs), t_max, seqs[0].shape[1]), dtype=np.float32)
    mask = np.zeros((len(seqs), t_max), dtype=bool)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = s
        mask[i, : len(s)] = True
    return torch.from_numpy(out), torch.from_numpy(mask)


class BatchMaker:
    """Builds `Batch` objects for ids of `corpus` from audio and text features.

    Labels are class indices (``[M]`` long) or multi-hot ``[M, C]`` float for multi-label protocols.
    Features are passed as stored; scaling them (eGeMAPS mixes Hz and dB) is the adapters' job
    (their ``input_norm`` option), so it is part of the model config and of the run identity.
    """

    def __init__(
        self,
        corpus: Corpus,
        audio: Features,
        text: Features,
        max_frames: int = 1024,
        max_tokens: int = 128,
        buckets: bool = False,
    ) -> None:
        self.corpus, self.audio, self.text = corpus, audio, text
        self.buckets = buckets
        self._lengths: dict[str, int] = {}
        self.max_frames, self.max_tokens = max_frames, max_tokens
        self.labels = corpus.protocol.labels
        self.multilabel = corpus.protocol.multilabel

    def label_tensor(self, ids: Sequence[str]) -> torch.Tensor:
        if self.multilabel:
            y = torch.zeros(len(ids), len(self.labels))
            for row, i in enumerate(ids):
                utt = self.corpus[i]
                for lab in utt.labels or (utt.label,):
                    y[row, self.labels.index(lab)] = 1.0
            return y
        return torch.tensor([self.labels.index(self.corpus[i].label) for i in ids])

    def make(self, ids: Sequence[str]) -> Batch:
        audio = [crop(np.asarray(self.audio[i], dtype=np.float32), self.max_frames) for i in ids]
        text = [crop(np.asarray(self.text[i], dtype=np.float32), self.max_tokens) for i in ids]
        a, am = pad(audio)
        t, tm = pad(text)
        return Batch(a, am, t, tm, self.label_tensor(ids), list(ids))

    def length(self, utt_id: str) -> int:
        """Padded positions the utterance occupies: audio frames + text tokens, after cropping
        (read once per utterance, then cached)."""
        if utt_id not in self._lengths:
            audio = min(len(self.audio[utt_id]), self.max_frames)
            self._lengths[utt_id] = audio + min(len(self.text[utt_id]), self.max_tokens)
        return self._lengths[utt_id]

    def batches(
        self, ids: Sequence[str], batch_size: int, rng: np.random.Generator | None = None
    ) -> Iterator[Batch]:
        """Batches over `ids`, shuffled with `rng` when given (training), else in a fixed order
        (read `Batch.ids` for it). With `buckets` (off by default, as `TrainConfig.length_buckets`)
        batches group utterances of similar length (`merbench.train.sampler`); otherwise a plain permutation (or `ids` in order)."""
        if self.buckets:
            order = bucketed_batches([self.length(i) for i in ids], batch_size, rng)
        else:
            order = random_batches(len(ids), batch_size, rng)
        for batch in order:
            yield self.make([ids[j] for j in batch])

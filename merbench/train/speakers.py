"""Speaker normalisation (``train.speaker_norm``): audio features standardised per speaker; and
``train.standardise``: audio features standardised with the training split's statistics.

Each speaker's statistics come from that speaker's own utterances within one part of the split:
training speakers from their training utterances, dev and test speakers from their dev and test
utterances. No label is read, but the dev and test statistics are computed from the very
utterances being scored, so this is *transductive*: a deployed system would need some speech of
each new speaker first. It removes a speaker's voice (pitch, loudness level) from the features;
on acted corpora where every speaker acts every emotion that helps, on corpora where a speaker
mostly expresses one emotion it removes the signal as well (`merbench datasets check` reports how
far speaker and label go together).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from merbench.data.base import Corpus, Split

EPS = 1e-6


def speaker_statistics(features: object, ids: Iterable[str]) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation ``[d]`` per dimension over every frame of `ids` (float64;
    a dimension with std below `EPS` gets std 1, so it maps to 0)."""
    frames = np.concatenate([np.asarray(features[i], dtype=np.float64) for i in ids])  # type: ignore[index]
    mean, std = frames.mean(0), frames.std(0)
    std[std < EPS] = 1.0
    return mean, std


class SpeakerNormalised:
    """Features whose every utterance is standardised with its speaker's statistics within its
    part of `split` (see the module docstring). ``feats[utt] -> [T, d]`` float32, ``dim`` as the
    wrapped features; an id outside the split is passed through unchanged."""

    def __init__(self, features: object, corpus: Corpus, split: Split) -> None:
        self.features, self.dim = features, features.dim  # type: ignore[attr-defined]
        self.meta = getattr(features, "meta", {})
        groups: dict[tuple[str, str], list[str]] = {}
        for part in ("train", "dev", "test"):
            for utt in getattr(split, part):
                groups.setdefault((part, corpus[utt].speaker), []).append(utt)
        self.stats: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for ids in groups.values():
            stats = speaker_statistics(features, ids)
            self.stats.update({utt: stats for utt in ids})

    def __getitem__(self, utt_id: str) -> np.ndarray:
        x = np.asarray(self.features[utt_id], dtype=np.float32)  # type: ignore[index]
        if utt_id not in self.stats:
            return x
        mean, std = self.stats[utt_id]
        return ((x - mean) / std).astype(np.float32)


class TrainingStandardised:
    """Features standardised with the statistics of the training utterances of `split` (mean and
    std per dimension over all their frames, as `speaker_statistics`), applied to every utterance:
    what a classical pipeline does before a linear classifier. Nothing of the dev or test
    utterances is read, so it is not transductive. ``feats[utt] -> [T, d]`` float32."""

    def __init__(self, features: object, split: Split) -> None:
        self.features, self.dim = features, features.dim  # type: ignore[attr-defined]
        self.meta = getattr(features, "meta", {})
        self.mean, self.std = speaker_statistics(features, split.train)

    def __getitem__(self, utt_id: str) -> np.ndarray:
        x = np.asarray(self.features[utt_id], dtype=np.float32)  # type: ignore[index]
        return ((x - self.mean) / self.std).astype(np.float32)

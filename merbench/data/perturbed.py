"""A test set heard through noise: the utterances of one split's test part whose waveforms come
with additive noise at a stated SNR (`merbench.data.noise`).

`NoisyCorpus` is a `Corpus` of those utterances (same ids, labels and protocol) whose
`load_audio` adds the noise and whose `fingerprint` covers the clean utterances and the noise
(kind, SNR, seed): the feature store keys its features by both, so the clean corpus's entries
are untouched. Babble is made from the other utterances of the same test set.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from merbench.data.base import Corpus, Utterance
from merbench.data.noise import NOISE_KINDS, add_noise, utterance_rng
from merbench.errors import UserError


@dataclass(frozen=True)
class Noise:
    """Additive noise: `kind` (white, pink, babble) at `snr_db`, drawn with `seed`."""

    snr_db: float
    kind: str = "white"
    seed: int = 0

    def identity(self) -> dict[str, Any]:
        """What keys the noisy features besides the clean utterances."""
        return {"noise": self.kind, "snr_db": float(self.snr_db), "seed": self.seed}


@dataclass
class NoisyCorpus(Corpus):
    """The utterances of a test set with `noise` added to their waveforms (module docstring)."""

    noise: Noise = field(default_factory=lambda: Noise(20.0))

    def fingerprint(self) -> str:
        """SHA-256 over the clean utterances' fingerprint and the noise's identity."""
        clean = Corpus.fingerprint(self)
        text = json.dumps({"clean": clean, **self.noise.identity()}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def clean_audio(self, utt_id: str, sample_rate: int) -> np.ndarray:
        """The waveform of `utt_id` without noise."""
        return Corpus.load_audio(self, self[utt_id], sample_rate)

    def load_audio(self, utt: Utterance, sample_rate: int) -> np.ndarray:
        """The waveform of `utt` with the noise added (float32 mono at `sample_rate`)."""
        clean = self.clean_audio(utt.id, sample_rate)
        pool = [u.id for u in self.utterances if u.id != utt.id and u.audio is not None]
        rng = utterance_rng(self.noise.seed, utt.id)
        return add_noise(
            clean,
            self.noise.snr_db,
            self.noise.kind,
            rng,
            pool,
            lambda other: self.clean_audio(other, sample_rate),
        )


def noisy_test_set(corpus: Corpus, test_ids: tuple[str, ...], noise: Noise) -> NoisyCorpus:
    """The utterances `test_ids` of `corpus` (in that order) as a `NoisyCorpus` with `noise`."""
    if noise.kind not in NOISE_KINDS:
        raise UserError(f"noise {noise.kind!r}: expected one of {', '.join(NOISE_KINDS)}")
    return NoisyCorpus(
        name=corpus.name,
        utterances=[corpus[i] for i in test_ids],
        protocol=corpus.protocol,
        root=corpus.root,
        noise=noise,
    )

"""Additive noise at a stated signal-to-noise ratio: white, pink, and babble made from other
utterances, each drawn from a generator seeded per utterance.

SNR is over the whole utterance: ``10 log10(sum(clean^2) / sum(noise^2))`` dB, the noise scaled
to meet it exactly (a silent utterance gets no noise). Kinds:

- ``white``: standard-normal samples;
- ``pink``: white noise shaped to a 1/f power spectrum (amplitude ``1/sqrt(f)`` in the
  frequency domain, the constant term removed);
- ``babble``: the sum of `BABBLE_TALKERS` other utterances (drawn without replacement from the
  pool the caller gives, e.g. the rest of the test set), each repeated or cut to the
  utterance's length and scaled to unit power before summing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

import numpy as np

from merbench.errors import UserError

NOISE_KINDS = ("white", "pink", "babble")
#: Talkers summed into babble noise (fewer when the pool is smaller).
BABBLE_TALKERS = 4


def utterance_rng(seed: int, utt_id: str) -> np.random.Generator:
    """A generator seeded by `seed` and the utterance id: the same noise whatever the order."""
    digest = hashlib.sha256(f"{seed}\x00{utt_id}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def white_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """``[n]`` standard-normal samples."""
    return rng.standard_normal(n)


def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """``[n]`` samples of 1/f noise: white noise whose spectrum is scaled by ``1/sqrt(f)``."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.arange(spectrum.size, dtype=float)
    scale = np.zeros_like(freqs)
    scale[1:] = 1.0 / np.sqrt(freqs[1:])
    return np.fft.irfft(spectrum * scale, n)


def fit_length(x: np.ndarray, n: int) -> np.ndarray:
    """`x` repeated (tiled) or cut to `n` samples."""
    if x.size == 0:
        return np.zeros(n)
    return np.tile(x, -(-n // x.size))[:n]


def babble_noise(
    n: int, rng: np.random.Generator, pool: Sequence[str], load: Callable[[str], np.ndarray]
) -> np.ndarray:
    """``[n]`` samples: `BABBLE_TALKERS` utterances of `pool` (ids, read by `load`) drawn
    without replacement, each fitted to `n` samples and scaled to unit power, summed."""
    if not pool:
        raise UserError("babble noise needs at least one other utterance in the test set")
    chosen = rng.choice(len(pool), size=min(BABBLE_TALKERS, len(pool)), replace=False)
    out = np.zeros(n)
    for k in sorted(int(c) for c in chosen):
        talker = fit_length(np.asarray(load(pool[k]), dtype=float), n)
        power = float(np.mean(talker**2))
        if power > 0:
            out += talker / np.sqrt(power)
    return out


def mix_at_snr(clean: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """``clean + g * noise`` (float32) with the gain g that makes the SNR exactly `snr_db`."""
    clean = np.asarray(clean, dtype=float)
    signal, power = float(np.sum(clean**2)), float(np.sum(noise**2))
    if signal == 0 or power == 0:
        return clean.astype(np.float32)
    gain = np.sqrt(signal / (power * 10 ** (snr_db / 10)))
    return (clean + gain * noise).astype(np.float32)


def add_noise(
    clean: np.ndarray,
    snr_db: float,
    kind: str,
    rng: np.random.Generator,
    pool: Sequence[str] = (),
    load: Callable[[str], np.ndarray] | None = None,
) -> np.ndarray:
    """`clean` with `kind` noise at `snr_db` (babble from `pool`, read by `load`)."""
    n = len(clean)
    if kind == "white":
        noise = white_noise(n, rng)
    elif kind == "pink":
        noise = pink_noise(n, rng)
    elif kind == "babble" and load is not None:
        noise = babble_noise(n, rng, pool, load)
    else:
        raise UserError(f"noise {kind!r}: expected one of {', '.join(NOISE_KINDS)}")
    return mix_at_snr(clean, noise, snr_db)

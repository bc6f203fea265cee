"""Hand-crafted acoustic encoders: ``egemaps`` and ``compare`` (openSMILE low-level descriptors) and
``logmel`` (log mel filterbank energies computed with numpy).

All three take 16 kHz float32 mono waveforms and give 100 frames per second by default. openSMILE is
imported when the first waveform is encoded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from merbench.encoders.base import Encoder
from merbench.registry import ENCODERS


@dataclass
class EGeMAPSConfig:
    """Options of ``egemaps``: none; the feature set is openSMILE's eGeMAPSv02 LLDs (25 per frame,
    20/60 ms windows every 10 ms). Frames openSMILE cannot compute (too short a segment) are 0."""


@dataclass
class ComParEConfig:
    """Options of ``compare`` (openSMILE ComParE_2016 LLDs, 65 per frame every 10 ms).

    deltas: also append the 65 first-order deltas (d = 130).
    """

    deltas: bool = False


class OpenSmileEncoder(Encoder):
    """Shared code of the openSMILE encoders: one `Smile` per feature level, frames every 10 ms."""

    modality = "audio"
    sample_rate = 16000
    frame_rate: float | None = 100.0
    bytes_per_unit = 16  # one waveform at a time, a few float32 copies of it
    feature_set = ""
    levels: tuple[str, ...] = ("LowLevelDescriptors",)

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        self._smiles: list[Any] | None = None

    def weights_identity(self) -> str:
        from importlib.metadata import version

        return f"opensmile=={version('opensmile')}:{self.feature_set}:{'+'.join(self.levels)}"

    def smiles(self) -> list[Any]:
        if self._smiles is None:
            import opensmile

            self._smiles = [
                opensmile.Smile(
                    feature_set=getattr(opensmile.FeatureSet, self.feature_set),
                    feature_level=getattr(opensmile.FeatureLevel, level),
                )
                for level in self.levels
            ]
        return self._smiles

    def encode(self, inputs: list[Any]) -> list[np.ndarray]:
        """One float32 ``[T_i, dim]`` per waveform, T_i = number of 10 ms frames (at least 1)."""
        import warnings

        out = []
        for wave in inputs:
            wave = np.asarray(wave, dtype=np.float32).reshape(-1)
            parts = []
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "Segment too short, filling with NaN."
                for smile in self.smiles():
                    parts.append(smile.process_signal(wave, self.sample_rate).to_numpy(np.float32))
            length = min(p.shape[0] for p in parts)
            feats = np.concatenate([p[:length] for p in parts], axis=1)
            if feats.shape[0] == 0:
                feats = np.zeros((1, self.dim), dtype=np.float32)
            out.append(np.nan_to_num(feats, nan=0.0, posinf=0.0, neginf=0.0))
        self.forward_calls += 1
        return out


@ENCODERS.register("egemaps", config=EGeMAPSConfig)
class EGeMAPSEncoder(OpenSmileEncoder):
    """``egemaps``: the 25 eGeMAPSv02 low-level descriptors, ``[T, 25]`` at 100 frames/s."""

    name = "egemaps"
    dim = 25
    feature_set = "eGeMAPSv02"


@dataclass
class EGeMAPSFunctionalsConfig:
    """Options of ``egemaps-functionals``: none; openSMILE's eGeMAPSv02 functionals (88 values
    per utterance: means, deviations, percentiles, slopes and rates of the LLDs)."""


@ENCODERS.register("egemaps-functionals", config=EGeMAPSFunctionalsConfig)
class EGeMAPSFunctionalsEncoder(OpenSmileEncoder):
    """``egemaps-functionals``: the 88 eGeMAPSv02 functionals of the whole utterance, ``[1, 88]``
    (one "frame" per utterance; the classical reference feature set for acted emotion)."""

    name = "egemaps-functionals"
    dim = 88
    feature_set = "eGeMAPSv02"
    levels = ("Functionals",)
    frame_rate = None  # one vector per utterance


@ENCODERS.register("compare", config=ComParEConfig)
class ComParEEncoder(OpenSmileEncoder):
    """``compare``: the 65 ComParE 2016 low-level descriptors (130 with deltas) at 100 frames/s."""

    name = "compare"
    feature_set = "ComParE_2016"

    def __init__(self, config: ComParEConfig) -> None:
        super().__init__(config)
        if config.deltas:
            self.levels = ("LowLevelDescriptors", "LowLevelDescriptors_Deltas")
        self.dim = 65 * len(self.levels)


@dataclass
class LogMelConfig:
    """Options of ``logmel`` (log mel energies of a Hann-windowed power spectrum, HTK mel scale).

    n_mels: mel bands (output width d). win_ms / hop_ms: window and hop (frame rate = 1000/hop_ms).
    n_fft: FFT size (>= window samples). fmin / fmax: band edges in Hz (fmax <= 8000 at 16 kHz).
    """

    n_mels: int = 80
    win_ms: float = 25.0
    hop_ms: float = 10.0
    n_fft: int = 512
    fmin: float = 0.0
    fmax: float = 8000.0


def mel_filterbank(
    n_mels: int, n_fft: int, sample_rate: int, fmin: float, fmax: float
) -> np.ndarray:
    """Triangular HTK-mel filters ``[n_mels, n_fft // 2 + 1]`` (peak 1)."""

    def hz_to_mel(f: np.ndarray) -> np.ndarray:
        return 2595.0 * np.log10(1.0 + f / 700.0)

    def mel_to_hz(m: np.ndarray) -> np.ndarray:
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)

    edges = mel_to_hz(np.linspace(hz_to_mel(np.array(fmin)), hz_to_mel(np.array(fmax)), n_mels + 2))
    bins = np.linspace(0.0, sample_rate / 2, n_fft // 2 + 1)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins[None, :] - lower) / np.maximum(centre - lower, 1e-9)
    falling = (upper - bins[None, :]) / np.maximum(upper - centre, 1e-9)
    return np.clip(np.minimum(rising, falling), 0.0, None).astype(np.float32)


@ENCODERS.register("logmel", config=LogMelConfig)
class LogMelEncoder(Encoder):
    """``logmel``: ``log(mel energies + 1e-6)``, ``[T, n_mels]``, T = 1 + (samples - win) // hop."""

    name = "logmel"
    modality = "audio"
    sample_rate = 16000
    bytes_per_unit = 128  # waveform, windowed frames, complex128 spectrum, power (measured)

    def __init__(self, config: LogMelConfig) -> None:
        super().__init__(config)
        self.dim = config.n_mels
        self.win = int(round(self.sample_rate * config.win_ms / 1000))
        self.hop = int(round(self.sample_rate * config.hop_ms / 1000))
        self.frame_rate = self.sample_rate / self.hop
        self.n_fft = max(config.n_fft, self.win)
        self.window = np.hanning(self.win + 1)[:-1].astype(np.float32)  # periodic Hann
        self.filters = mel_filterbank(
            config.n_mels, self.n_fft, self.sample_rate, config.fmin, config.fmax
        )

    def encode(self, inputs: list[Any]) -> list[np.ndarray]:
        out = []
        for wave in inputs:
            wave = np.asarray(wave, dtype=np.float32).reshape(-1)
            if wave.shape[0] < self.win:
                wave = np.pad(wave, (0, self.win - wave.shape[0]))
            n = 1 + (wave.shape[0] - self.win) // self.hop
            view = np.lib.stride_tricks.sliding_window_view(wave, self.win)[:: self.hop][:n]
            spectrum = np.fft.rfft(view * self.window, n=self.n_fft, axis=1)  # [T, n_fft/2+1]
            power = (spectrum.real**2 + spectrum.imag**2).astype(np.float32)
            del spectrum
            out.append(np.log(power @ self.filters.T + 1e-6).astype(np.float32))
        self.forward_calls += 1
        return out

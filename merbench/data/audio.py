"""Decoding audio on demand: any wav/flac/ogg (soundfile) or mp4/m4a/... (PyAV) to float32 mono.

`read_audio(path, sample_rate)` is the one entry point. Loaders never decode; the encoders (through
`Corpus.load_audio`) and `merbench datasets check` do.
"""

from __future__ import annotations

from math import gcd
from pathlib import Path

import numpy as np

from merbench.errors import UserError

#: Extensions read with soundfile; everything else goes through PyAV (ffmpeg).
SOUNDFILE_EXTENSIONS = {".wav", ".flac", ".ogg", ".aiff", ".aif"}


def read_audio(path: Path | str, sample_rate: int) -> np.ndarray:
    """The waveform of `path` as float32 mono ``[samples]`` at `sample_rate` Hz.

    Multi-channel audio is averaged to mono; other rates are resampled (`resample`). A missing,
    unreadable or empty file raises `UserError` naming it, and so does one whose samples are not
    all finite or all zero (`sample_problem`): such audio holds nothing to encode.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: audio file not found")
    if path.suffix.lower() == ".wav":
        problem = wav_truncation(path)
        if problem:
            raise UserError(f"{path}: truncated wav ({problem})")
    try:
        if path.suffix.lower() in SOUNDFILE_EXTENSIONS:
            wave, rate = _read_soundfile(path)
        else:
            wave, rate = _read_av(path)
    except UserError:
        raise
    except Exception as exc:  # any decoder failure is a property of the user's file
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"{path}: unreadable audio ({detail})") from None
    if wave.size == 0:
        raise UserError(f"{path}: empty audio (0 samples)")
    problem = sample_problem(wave)
    if problem:
        raise UserError(f"{path}: unreadable audio ({problem})")
    return resample(wave, rate, sample_rate)


def sample_problem(wave: np.ndarray) -> str | None:
    """Why the decoded samples `wave` ``[samples]`` cannot be used (some are NaN or infinite, or
    every one is zero), or None when they can."""
    finite = np.isfinite(wave)
    if not finite.all():
        bad = int(wave.size - np.count_nonzero(finite))
        return f"{bad} of {wave.size} samples are NaN or infinite"
    if not np.any(wave):
        return f"silent: all {wave.size} samples are zero"
    return None


def wav_truncation(path: Path) -> str | None:
    """Why the RIFF/WAVE file `path` is truncated (its ``data`` chunk header promises more bytes
    than the file holds), or None when it is whole or not a plain RIFF file (left to the decoder).
    A size of 0 or 0xFFFFFFFF (written by streaming encoders that never went back) is not checked.
    """
    import struct

    try:
        with open(path, "rb") as fh:
            head = fh.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return None
            total = path.stat().st_size
            while True:
                chunk = fh.read(8)
                if len(chunk) < 8:
                    return None
                cid, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
                if cid == b"data":
                    held = total - fh.tell()
                    if size not in (0, 0xFFFFFFFF) and size > held:
                        return f"its header promises {size} bytes of samples, the file holds {held}"
                    return None
                fh.seek(size + (size & 1), 1)
    except OSError:
        return None


#: Largest up/down factor resampled with scipy's polyphase filter: its filter has about 20 taps
#: per unit of the larger factor, so a rate such as TESS's 24,414 Hz (16 kHz: up 8,000, down
#: 12,207) would design and apply a 244,000-tap filter for every file.
POLYPHASE_MAX_FACTOR = 1024


def resample(wave: np.ndarray, rate: int, target: int) -> np.ndarray:
    """`wave` ``[samples]`` from `rate` to `target` Hz, float32 ``[ceil(samples * target / rate)]``.

    Rates whose ratio reduces to small integers (48 kHz, 44.1 kHz, 22.05 kHz to 16 kHz) use scipy's
    polyphase filter (`scipy.signal.resample_poly`); others (up or down factor above
    `POLYPHASE_MAX_FACTOR`) use the SoX resampler (`audresample`), which costs the same per second
    of audio whatever the ratio.
    """
    wave = np.asarray(wave, dtype=np.float32)
    if rate == target:
        return wave
    g = gcd(int(rate), int(target))
    up, down = target // g, rate // g
    if max(up, down) > POLYPHASE_MAX_FACTOR:
        import audresample

        out = audresample.resample(wave, int(rate), int(target), always_copy=True)
        return np.asarray(out, dtype=np.float32).reshape(-1)
    from scipy.signal import resample_poly

    return resample_poly(wave, up, down).astype(np.float32)


def _read_soundfile(path: Path) -> tuple[np.ndarray, int]:
    import soundfile as sf

    wave, rate = sf.read(str(path), dtype="float32", always_2d=True)
    return wave.mean(axis=1), int(rate)


def _read_av(path: Path) -> tuple[np.ndarray, int]:
    import av

    with av.open(str(path)) as container:
        if not container.streams.audio:
            raise UserError(f"{path}: no audio stream")
        stream = container.streams.audio[0]
        rate = stream.codec_context.sample_rate or stream.rate
        # Resample to packed float32 mono at the native rate: one code path for every codec layout.
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        chunks: list[np.ndarray] = []
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray().reshape(-1))
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().reshape(-1))
    wave = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    return wave, int(rate)

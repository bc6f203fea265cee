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

    Multi-channel audio is averaged to mono; other rates are resampled with a polyphase filter
    (`scipy.signal.resample_poly`). A missing, unreadable or empty file raises `UserError`
    naming it.
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
    return resample(wave, rate, sample_rate)


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


def resample(wave: np.ndarray, rate: int, target: int) -> np.ndarray:
    """`wave` ``[samples]`` from `rate` to `target` Hz, float32."""
    wave = np.asarray(wave, dtype=np.float32)
    if rate == target:
        return wave
    from scipy.signal import resample_poly

    g = gcd(int(rate), int(target))
    return resample_poly(wave, target // g, rate // g).astype(np.float32)


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

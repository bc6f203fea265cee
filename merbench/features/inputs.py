"""What an encoder is fed during extraction: usable utterances, their estimated lengths, their
decoded inputs, and the check of what comes out."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from merbench.data.base import Corpus, Utterance
from merbench.encoders.base import Encoder
from merbench.errors import UserError
from merbench.features.entry import FP16_MAX

log = logging.getLogger("merbench.features")


def usable_utterances(corpus: Corpus, encoder: Encoder) -> tuple[list[Utterance], list[str]]:
    """Utterances the encoder can read (audio ones need a file) and the ids of the others."""
    if encoder.modality == "text":
        return list(corpus.utterances), []
    usable = [u for u in corpus.utterances if u.audio is not None]
    missing = [u.id for u in corpus.utterances if u.audio is None]
    if missing:
        log.warning(
            "%s: %d utterances have no audio and get no %s features (e.g. %s)",
            corpus.name,
            len(missing),
            encoder.name,
            missing[0],
        )
    return usable, missing


def estimate_length(corpus: Corpus, utt: Utterance, encoder: Encoder) -> int:
    """Length used to sort and bucket: tokens of the text, or samples from the audio header."""
    if encoder.modality == "text":
        return encoder.input_length(utt.text)
    rate = encoder.sample_rate or 16000
    path = Path(utt.audio) if utt.audio is not None else None
    if path is None:
        return 0
    try:
        import soundfile as sf

        info = sf.info(str(path))
        return int(info.frames * rate / info.samplerate)
    except Exception:
        pass
    try:
        import av

        with av.open(str(path)) as container:
            if container.duration:
                return int(container.duration / 1_000_000 * rate)
    except Exception:
        pass
    try:
        return path.stat().st_size // 4  # unknown format: order by size (re-checked on load)
    except OSError:
        return 0


def read_inputs(
    corpus: Corpus, members: list[Utterance], encoder: Encoder, unreadable: dict[str, str]
) -> tuple[list[Utterance], list[Any]]:
    """The members whose input could be read, and their inputs; a medium that cannot be decoded
    is recorded in `unreadable` (id -> message, kept in the entry's meta) and left out, never
    fatal for the whole entry; the caller reports them."""
    kept, inputs = [], []
    for utt in members:
        try:
            inputs.append(load_input(corpus, utt, encoder))
        except UserError as exc:
            if encoder.modality == "text":
                raise
            unreadable[utt.id] = str(exc)
        else:
            kept.append(utt)
    return kept, inputs


def load_input(corpus: Corpus, utt: Utterance, encoder: Encoder) -> Any:
    """What the encoder reads for `utt`: its text, or its waveform at the encoder's sample rate."""
    if encoder.modality == "text":
        return utt.text
    return corpus.load_audio(utt, encoder.sample_rate or 16000)


def check_output(features: np.ndarray, encoder: Encoder, utt_id: str) -> np.ndarray:
    """Validate one encoder output: ``[T >= 1, dim]`` and finite."""
    if features.ndim != 2 or features.shape[1] != encoder.dim or features.shape[0] < 1:
        raise RuntimeError(
            f"encoder {encoder.name} returned shape {features.shape} for {utt_id}, "
            f"expected [T>=1, {encoder.dim}]"
        )
    if not np.isfinite(features).all():
        features = np.nan_to_num(features, nan=0.0, posinf=FP16_MAX, neginf=-FP16_MAX)
    return features

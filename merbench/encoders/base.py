"""The encoder contract: a frozen backbone mapping a waveform or a text to a sequence ``[T, d]``.

An encoder is a plugin on the `encoders` axis. Its `key()` (canonical config plus the identity of its
weights: model name and revision, or a hash of a local checkpoint) keys the feature store together
with the corpus fingerprint, so that any change of encoder or parameters yields a new store entry.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

import numpy as np

Modality = Literal["audio", "text"]


class Encoder:
    """Base class of `encoders` plugins.

    Attributes a subclass sets: `name` (registry name), `modality` ("audio" or "text"), `dim` (output
    width d), `frame_rate` (frames per second for audio, None for text), `sample_rate` (Hz expected by
    `encode` for audio, None for text).

    `encode(inputs)` takes a list of waveforms (float32 mono numpy arrays at `sample_rate`) or a list
    of strings, and returns one float32 array ``[T_i, dim]`` per input, with ``T_i >= 1``. It may use a
    GPU when `device` says so; it never trains.

    An encoder built on other encoders' outputs lists them in `parts` and maps one utterance's
    outputs (one array per part, in order) to its own with `combine`; the feature store then
    builds its entry from the parts' entries instead of decoding the audio again.
    """

    parts: list[Encoder] = []

    name: str = ""
    modality: Modality = "audio"
    dim: int = 0
    frame_rate: float | None = None
    sample_rate: int | None = None

    def __init__(self, config: Any) -> None:
        self.config = config
        self.device = "cpu"
        self.forward_calls = (
            0  # counts batches encoded; the store's tests assert it stays 0 on reuse
        )

    def weights_identity(self) -> str:
        """Identity of the weights (e.g. ``model@revision`` or a checkpoint hash); '' if none."""
        return ""

    def key(self) -> dict[str, Any]:
        """Canonical description of this encoder: name, config, weights identity."""
        config = self.config
        is_instance = dataclasses.is_dataclass(config) and not isinstance(config, type)
        return {
            "name": self.name,
            "config": dataclasses.asdict(config) if is_instance else {},
            "weights": self.weights_identity(),
        }

    def to(self, device: str) -> Encoder:
        self.device = device
        return self

    def encode(self, inputs: list[Any]) -> list[np.ndarray]:  # pragma: no cover - abstract
        raise NotImplementedError

    def combine(self, outputs: list[np.ndarray]) -> np.ndarray:  # pragma: no cover - abstract
        """One utterance's ``[T, dim]`` from its `parts`' outputs (encoders with parts only)."""
        raise NotImplementedError

    # -- batching hints for the feature store (additive; defaults suit light encoders) ---------------
    #: Rough working memory, in bytes, per input unit (sample or token) of a padded batch.
    bytes_per_unit: int = 64

    def input_length(self, x: Any) -> int:
        """Length of one input in the unit `batch_bytes` counts: samples (audio) or tokens (text)."""
        return len(x)

    def batch_bytes(self, lengths: list[int]) -> int:
        """Estimated peak working memory (bytes) of encoding one padded batch of these lengths."""
        if not lengths:
            return 0
        return len(lengths) * max(lengths) * self.bytes_per_unit

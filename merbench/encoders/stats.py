"""``stats``: several audio encoders read together, as one vector of utterance statistics.

An encoder gives frames ``[T, d]``; `parts` lists encoder specs (``whisper``,
``egemaps-functionals``, ``hf:<model>``, ...) and ``stats`` gives, per utterance, one row
``[1, D]``: for each part in order, the mean and the standard deviation (population) of its
frames (2 d values), or its vector as it is for a part that gives one vector per utterance
(``frame_rate`` None, e.g. ``egemaps-functionals``: d values). This is what a classical pipeline
feeds a linear classifier, and the one way a configuration reads two feature sets at once.

The feature store builds a ``stats`` entry from the parts' own entries (each extracted once and
cached under its own key, which ``stats`` leaves unchanged); `encode` computes the same
statistics from waveforms for use without a store.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from merbench.encoders.base import Encoder
from merbench.errors import UserError
from merbench.registry import ENCODERS


@dataclass
class StatsConfig:
    """Options of ``stats``: `parts`, the audio encoder specs read together (at least one, each
    once, none of them ``stats``; options of a part are not reachable here: its defaults apply);
    by default Whisper's frames and the eGeMAPS functionals, the best pair measured on EmoDB.
    Empty, repeated, nested or unknown parts: `UserError` when the config is made."""

    parts: tuple[str, ...] = ("whisper", "egemaps-functionals")

    def __post_init__(self) -> None:
        specs = [str(p).strip() for p in self.parts]
        if not specs:
            raise UserError(
                'encoder stats: needs parts, e.g. parts = ["whisper", "egemaps-functionals"]'
            )
        if len(set(specs)) != len(specs):
            raise UserError(f"encoder stats: a part is named twice in {specs}")
        for spec in specs:
            plugin = spec.split(":", 1)[0] if spec.startswith(("hf:", "whisper:")) else spec
            try:
                entry = ENCODERS.get(plugin)
            except UserError as exc:
                raise UserError(f"encoder stats: part {spec!r}: {exc}") from None
            if entry.obj is StatsEncoder:
                raise UserError("encoder stats: a part cannot itself be stats")
        self.parts = tuple(specs)


def utterance_statistics(frames: np.ndarray, per_utterance: bool) -> np.ndarray:
    """One part's statistics of one utterance: ``[T, d] -> [d]`` (the mean over rows) when the
    part gives one vector per utterance, else ``[2 d]``: mean then population std of the frames
    (float64 arithmetic, float32 out)."""
    x = np.asarray(frames, dtype=np.float64)
    if per_utterance:
        return x.mean(0).astype(np.float32)
    return np.concatenate([x.mean(0), x.std(0)]).astype(np.float32)


@ENCODERS.register("stats", config=StatsConfig)
class StatsEncoder(Encoder):
    """``stats``: the utterance statistics of each of `parts`, concatenated, ``[1, D]``.

    D = sum over parts of d (a part with one vector per utterance) or 2 d (a frame-level part).
    Beyond `StatsConfig`'s checks, a part that is a text encoder or parts expecting different
    sample rates: `UserError`. `dim` loads no model until asked.
    """

    name = "stats"
    modality = "audio"
    frame_rate = None  # one vector per utterance

    def __init__(self, config: StatsConfig) -> None:
        super().__init__(config)
        from merbench.encoders import build_encoder

        specs = list(config.parts)
        self.parts: list[Encoder] = [build_encoder(p) for p in specs]
        for spec, part in zip(specs, self.parts, strict=True):
            if part.modality != "audio":
                raise UserError(f"encoder stats: part {spec} is a {part.modality} encoder")
        rates = {part.sample_rate for part in self.parts}
        if len(rates) > 1:
            raise UserError(f"encoder stats: parts expect different sample rates ({rates})")
        self.sample_rate = self.parts[0].sample_rate
        self.bytes_per_unit = max(part.bytes_per_unit for part in self.parts)
        self._dim = 0

    @property
    def dim(self) -> int:  # type: ignore[override]
        """D: d per part with one vector per utterance, 2 d per frame-level part."""
        if not self._dim:
            self._dim = sum(p.dim * (1 if p.frame_rate is None else 2) for p in self.parts)
        return self._dim

    def weights_identity(self) -> str:
        """The parts' keys (name, options, weights), in order, as canonical JSON."""
        return json.dumps([p.key() for p in self.parts], sort_keys=True, separators=(",", ":"))

    def combine(self, outputs: list[np.ndarray]) -> np.ndarray:
        """The ``[1, D]`` row of one utterance from its parts' frames (one array per part)."""
        stats = [
            utterance_statistics(x, p.frame_rate is None)
            for p, x in zip(self.parts, outputs, strict=True)
        ]
        return np.concatenate(stats)[None, :]

    def to(self, device: str) -> StatsEncoder:
        for part in self.parts:
            part.to(device)
        return super().to(device)  # type: ignore[return-value]

    def input_length(self, x: Any) -> int:
        return self.parts[0].input_length(x)

    def batch_bytes(self, lengths: list[int]) -> int:
        return max(part.batch_bytes(lengths) for part in self.parts)

    def encode(self, inputs: list[Any]) -> list[np.ndarray]:
        """``[1, D]`` per waveform: every part encodes the batch, then `combine`."""
        per_part = [part.encode(inputs) for part in self.parts]
        self.forward_calls += 1
        return [self.combine([outs[i] for outs in per_part]) for i in range(len(inputs))]

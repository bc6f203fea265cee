"""Test-time conditions (``--perturb``): what a trained model is evaluated on besides clean input.

Syntax of one ``--perturb`` value (repeatable; each expands to one or more conditions):

- ``snr=20,10,0`` or ``snr=20,10,0:KIND``: additive noise at each SNR in dB, KIND ``white``
  (default), ``pink`` or ``babble`` (other utterances of the same test set); seed 0;
- ``drop=audio`` / ``drop=text``: the modality absent at test time, handled as the model declares
  (`merbench.models.base.MERModel.absent_modality`);
- ``text=asr`` or ``text=asr:MODEL``: the text of the test utterances from speech recognition
  (`merbench.features.transcripts`).

A condition's `slug` names it in metric keys (``cond/<slug>/test/<metric>``) and artifact
folders (``conditions/<slug>/``); its `label` is how tables show it (the ``--perturb`` spelling).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from merbench.data.noise import NOISE_KINDS
from merbench.errors import UserError

#: Metric-key prefix of a run's results under a condition.
PREFIX = "cond/"
#: The run tag listing the conditions whose results are complete (JSON list of slugs).
CONDITIONS_TAG = "conditions"
#: The run tag naming what its model does with an absent modality (set by ``drop`` conditions).
ABSENT_TAG = "absent_modality"
DROPPABLE = ("audio", "text")
SYNTAX = "snr=20,10,0[:white|pink|babble], drop=audio|text or text=asr[:MODEL]"


@dataclass(frozen=True)
class Condition:
    """One test-time condition: `kind` ``snr`` (`snr_db`, `noise`), ``drop`` (`modality`) or
    ``text`` (`asr_model`: ``""`` for the packaged recogniser)."""

    kind: str
    snr_db: float = 0.0
    noise: str = "white"
    modality: str = ""
    asr_model: str = ""

    @property
    def slug(self) -> str:
        if self.kind == "snr":
            return f"snr{self.snr_db:g}-{self.noise}"
        if self.kind == "drop":
            return f"drop-{self.modality}"
        return "text-asr" + (f"-{self.asr_model}" if self.asr_model else "")

    @property
    def label(self) -> str:
        if self.kind == "snr":
            return f"snr={self.snr_db:g}:{self.noise}"
        if self.kind == "drop":
            return f"drop={self.modality}"
        return "text=asr" + (f":{self.asr_model}" if self.asr_model else "")


def parse_perturb(values: list[str] | tuple[str, ...] | None) -> tuple[Condition, ...]:
    """The conditions of the ``--perturb`` values, in the order given; a malformed value or a
    condition given twice is a UserError naming it."""
    out: list[Condition] = []
    for value in values or ():
        for condition in _parse_one(value):
            if condition in out:
                raise UserError(f"--perturb {value}: condition {condition.label} is given twice")
            out.append(condition)
    return tuple(out)


def _parse_one(value: str) -> list[Condition]:
    key, sep, rest = value.strip().partition("=")
    bad = f"--perturb {value!r}: expected {SYNTAX}"
    if not sep or not rest.strip():
        raise UserError(bad)
    rest = rest.strip()
    if key == "snr":
        levels, _, kind = rest.partition(":")
        kind = kind.strip() or "white"
        if kind not in NOISE_KINDS:
            raise UserError(f"--perturb {value}: noise {kind!r}, expected {', '.join(NOISE_KINDS)}")
        try:
            snrs = [float(s) for s in levels.split(",") if s.strip()]
        except ValueError:
            raise UserError(f"--perturb {value}: SNRs are numbers in dB (snr=20,10,0)") from None
        if not snrs or not all(math.isfinite(s) for s in snrs):
            raise UserError(f"--perturb {value}: SNRs are finite numbers in dB (snr=20,10,0)")
        return [Condition("snr", snr_db=s, noise=kind) for s in snrs]
    if key == "drop":
        if rest not in DROPPABLE:
            raise UserError(f"--perturb {value}: drop=audio or drop=text")
        return [Condition("drop", modality=rest)]
    if key == "text":
        kind, colon, model = rest.partition(":")
        if kind != "asr" or (colon and not model.strip()):
            raise UserError(f"--perturb {value}: text=asr or text=asr:MODEL")
        return [Condition("text", asr_model=model.strip())]
    raise UserError(bad)

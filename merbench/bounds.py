"""Ranges of numeric config fields, checked when a config is made (`registry.make_config`).

A config dataclass states a field's range in its metadata, ``field(default=2, metadata={"range":
Range(ge=1)})``; fields without one get the conventional range of their name from `BY_NAME`
(``dropout`` in [0, 1), ``layers`` >= 1, ``lr`` > 0, ...), so every plugin, built-in or third-party,
gets the same checks. A value out of range is a `UserError` naming the field, the value and the
range.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from merbench.errors import UserError


@dataclass(frozen=True)
class Range:
    """Bounds of a number: ``ge`` <= x (or ``gt`` < x) and x <= ``le`` (or x < ``lt``)."""

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None

    def holds(self, x: float) -> bool:
        return not (
            (self.ge is not None and x < self.ge)
            or (self.gt is not None and x <= self.gt)
            or (self.le is not None and x > self.le)
            or (self.lt is not None and x >= self.lt)
        )

    def __str__(self) -> str:
        parts = [
            f">= {self.ge:g}" if self.ge is not None else "",
            f"> {self.gt:g}" if self.gt is not None else "",
        ]
        parts += [
            f"<= {self.le:g}" if self.le is not None else "",
            f"< {self.lt:g}" if self.lt is not None else "",
        ]
        return " and ".join(p for p in parts if p)


POSITIVE = Range(gt=0)
NON_NEGATIVE = Range(ge=0)
AT_LEAST_ONE = Range(ge=1)
FRACTION = Range(ge=0, lt=1)

#: Conventional ranges by field name (used when a field's metadata states none).
BY_NAME: dict[str, Range] = {
    "dropout": FRACTION,
    "label_smoothing": FRACTION,
    "mask_prob": Range(ge=0, le=1),
    "lr": POSITIVE,
    "weight_decay": NON_NEGATIVE,
    "grad_clip": NON_NEGATIVE,
    "batch_size": Range(ge=2),  # contrastive and pair terms need two samples per batch
    "max_epochs": AT_LEAST_ONE,
    "patience": NON_NEGATIVE,
    "max_frames": AT_LEAST_ONE,
    "max_tokens": AT_LEAST_ONE,
    "layers": AT_LEAST_ONE,
    "fusion_layers": AT_LEAST_ONE,
    "heads": AT_LEAST_ONE,
    "ffn_mult": AT_LEAST_ONE,
    "d": AT_LEAST_ONE,
    "blocks": AT_LEAST_ONE,
    "max_positions": AT_LEAST_ONE,
    "frame_stride": AT_LEAST_ONE,
    "max_length": AT_LEAST_ONE,
    "n_mels": AT_LEAST_ONE,
    "n_fft": AT_LEAST_ONE,
    "hidden": NON_NEGATIVE,
    "proj_dim": NON_NEGATIVE,
    "alpha": NON_NEGATIVE,
    "beta": NON_NEGATIVE,
    "gamma": NON_NEGATIVE,
    "delta": NON_NEGATIVE,
    "noise_std": NON_NEGATIVE,
    "temperature": POSITIVE,
}


def field_range(field: dataclasses.Field) -> Range | None:
    """The range of a config field: its metadata's ``range``, else the convention for its name."""
    stated = field.metadata.get("range") if field.metadata else None
    if stated is not None:
        return stated
    if field.name in BY_NAME:
        return BY_NAME[field.name]
    if field.name.endswith("_weight") or field.name.startswith("lambda_"):
        return NON_NEGATIVE
    return None


def check_ranges(config: Any, where: str) -> None:
    """Raise a UserError for the first numeric field of `config` that is out of its range."""
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if isinstance(value, float) and not math.isfinite(value):
            raise UserError(f"{where}.{field.name}: {value!r} is not a finite number")
        bounds = field_range(field)
        if bounds is not None and not bounds.holds(value):
            raise UserError(f"{where}.{field.name}: {value!r} is out of range (must be {bounds})")

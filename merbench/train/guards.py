"""Honest outcomes: a run that diverged or never trained ends as an error, never as a result.

`check_finite` is called on every training step's loss terms; `check_trained` once after the last
epoch. Both raise `RunFailed` (a `UserError`: the user's settings caused it) whose one-line message
names the step and the loss term, and whose `tags` the tracking layer stores on the MLflow run
before marking it FAILED.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from merbench.errors import UserError


class RunFailed(UserError):
    """A run that must not be recorded as finished; `tags` say why (``failure``, step, term)."""

    def __init__(self, message: str, tags: dict[str, str]) -> None:
        super().__init__(message)
        self.tags = tags


def check_finite(losses: Mapping[str, Any], *, epoch: int, step: int) -> None:
    """Raise `RunFailed` when a loss term of optimiser step `step` (0-based) is NaN or infinite.

    The term named is the first non-finite one in `losses` order other than ``total`` (the sum),
    or ``total`` when only the sum overflowed.
    """
    values = {name: float(value.detach()) for name, value in losses.items()}
    bad = [n for n, v in values.items() if not math.isfinite(v)]
    if not bad:
        return
    term = next((n for n in bad if n != "total"), bad[0])
    raise RunFailed(
        f"diverged at epoch {epoch} step {step}: loss term {term!r} is {values[term]} "
        f"(non-finite terms: {', '.join(bad)}); lower train.lr or check the inputs",
        {"failure": "diverged", "failure_step": str(step), "failure_term": term},
    )


def check_trained(steps: int, best_epoch: int, *, batch_size: int, train_size: int) -> None:
    """Raise `RunFailed` when no optimiser step was taken or the untrained weights were selected.

    `best_epoch` is -1 when no epoch's dev score ever beat the untrained model's (no epoch ran, or
    every dev score was NaN).
    """
    if steps == 0:
        raise RunFailed(
            f"never trained: no optimiser step was taken ({train_size} training utterances, "
            f"train.batch_size {batch_size}; a step needs a batch of at least 2)",
            {"failure": "no_step", "failure_step": "0", "failure_term": ""},
        )
    if best_epoch < 0:
        raise RunFailed(
            "never trained: the selected checkpoint is the untrained model "
            "(no epoch had a valid dev score)",
            {"failure": "untrained_checkpoint", "failure_step": str(steps), "failure_term": ""},
        )

"""Model selection on the dev split, and the learning-rate schedule (`TrainConfig`).

`Selection` keeps the weights of the epoch whose *smoothed* dev score is best and says when to
stop. The smoothed score of epoch j is the mean of the dev scores of epochs j-h .. j+h (h =
(smooth - 1) // 2; cut at the first and the last epoch run), so one lucky or unlucky epoch on a
small dev set neither wins nor ends the run; epoch j is judged once epoch j+h has been scored, and
the last h epochs when training ends. `lr_factor` is the per-step multiplier of the learning rate.
"""

from __future__ import annotations

import copy
import math
from collections import deque
from typing import Any

from merbench.train.config import TrainConfig


def patience_epochs(config: TrainConfig) -> int:
    """Epochs without improvement before stopping: ``max(patience, ceil(patience_frac *
    max_epochs))``."""
    return max(config.patience, math.ceil(config.patience_frac * config.max_epochs))


class Selection:
    """Best-checkpoint bookkeeping: ``add(epoch, score, state)`` after each epoch's dev scoring,
    ``stop()`` whether to end training, ``finish()`` once it ended; then `best_epoch` (-1 when
    no epoch had a finite smoothed score), `best_score` and `best_state`."""

    def __init__(self, config: TrainConfig, initial_state: dict[str, Any]) -> None:
        self.half = (config.smooth - 1) // 2
        self.patience = patience_epochs(config)
        self.min_epochs = config.min_epochs
        self.scores: list[float] = []
        self.recent: deque[tuple[int, dict[str, Any]]] = deque(maxlen=self.half + 1)
        self.judged = -1
        self.best_score, self.best_epoch, self.best_state = -math.inf, -1, initial_state

    def smoothed(self, epoch: int) -> float:
        """The mean finite dev score of epochs ``epoch - h .. epoch + h`` run so far (NaN if none)."""
        window = self.scores[max(0, epoch - self.half) : epoch + self.half + 1]
        finite = [s for s in window if math.isfinite(s)]
        return sum(finite) / len(finite) if finite else math.nan

    def _judge(self, epoch: int) -> None:
        score = self.smoothed(epoch)
        if score > self.best_score:
            state = next(s for e, s in self.recent if e == epoch)
            self.best_score, self.best_epoch, self.best_state = score, epoch, state
        self.judged = epoch

    def add(self, epoch: int, score: float, state: dict[str, Any]) -> None:
        self.scores.append(score)
        self.recent.append((epoch, copy.deepcopy(state)))
        if epoch - self.half >= 0:
            self._judge(epoch - self.half)

    def stop(self) -> bool:
        """True once `min_epochs` ran and `patience` judged epochs passed without improvement."""
        return (
            len(self.scores) >= self.min_epochs and self.judged - self.best_epoch >= self.patience
        )

    def finish(self) -> None:
        for epoch in range(self.judged + 1, len(self.scores)):
            self._judge(epoch)


def lr_factor(step: int, config: TrainConfig, steps_per_epoch: int) -> float:
    """Multiplier of the learning rate at optimiser step `step` (0-based): linear warm-up from
    1/W to 1 over the first W = `warmup_epochs` * `steps_per_epoch` steps, then 1 (``constant``)
    or a cosine from 1 down to 0 at `max_epochs` (``cosine``)."""
    warmup = config.warmup_epochs * steps_per_epoch
    if step < warmup:
        return (step + 1) / warmup
    if config.lr_schedule == "constant":
        return 1.0
    total = max(config.max_epochs * steps_per_epoch - warmup, 1)
    progress = min((step - warmup) / total, 1.0)
    return 0.5 * (1.0 + math.cos(math.pi * progress))

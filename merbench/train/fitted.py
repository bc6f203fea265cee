"""Fitting a solver-trained model (`merbench.models.linear.FittedModel`) on one split.

The solver sees the model's fixed-size statistics of every training and dev utterance at once;
it chooses its own hyperparameters on dev with the same metric early stopping uses. What comes
back has the shape of a gradient run's: one curve row per candidate (``epoch`` = candidate
index), ``best_epoch`` the chosen candidate; the test split is scored afterwards by the caller.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from merbench.models.linear import FittedModel
from merbench.train.batches import BatchMaker


@torch.no_grad()
def statistics(
    model: FittedModel, maker: BatchMaker, ids: tuple[str, ...], batch_size: int, device: str
) -> np.ndarray:
    """``model.statistics`` of `ids`, in order, as float64 ``[N, D]``."""
    rows, order = [], []
    for batch in maker.batches(ids, batch_size):
        order += batch.ids
        rows.append(model.statistics(batch.to(device)).double().cpu().numpy())
    where = {utt: k for k, utt in enumerate(order)}
    return np.concatenate(rows)[[where[i] for i in ids]]


def fit_model(
    model: FittedModel,
    maker: BatchMaker,
    train: tuple[str, ...],
    dev: tuple[str, ...],
    batch_size: int,
    device: str,
    dev_score: Callable[[np.ndarray], dict[str, float]],
    select: str,
) -> tuple[list[dict[str, float]], int]:
    """Fit `model` on `train`, choosing among its candidates by ``dev_score(probs)[select]``.

    Returns ``(curve rows, chosen candidate)``; each row is ``{"epoch": k, "fit/<option>": value,
    "dev/<metric>": ...}`` for candidate k.
    """
    model.eval()
    x_train = statistics(model, maker, train, batch_size, device)
    x_dev = statistics(model, maker, dev, batch_size, device)
    y_train = maker.label_tensor(train).numpy()
    y_dev = maker.label_tensor(dev).numpy()
    scores: list[dict[str, float]] = []

    def score(probs: np.ndarray) -> float:
        scores.append(dev_score(probs))
        return scores[-1][select]

    tried = model.fit(x_train, y_train, x_dev, y_dev, score)
    rows = []
    for row, values in zip(tried, scores, strict=True):
        options = {f"fit/{k}": v for k, v in row.items() if k not in ("candidate", "score")}
        rows.append(
            {"epoch": row["candidate"], **options, **{f"dev/{k}": v for k, v in values.items()}}
        )
    return rows, model.chosen

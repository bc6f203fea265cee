"""The classical reference: logistic regression on standardised utterance statistics (``linear``).

A `FittedModel` is trained by a solver in one call, not by gradient steps; the training layer
calls its ``fit`` in place of the epoch loop (`merbench.train.fitted`). Once fitted it is an
ordinary ``nn.Module``: ``logits`` and ``embed`` run on batches like any other model's, so
predictions, metrics and tracking are the same code path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import Tensor, nn

from merbench.errors import UserError
from merbench.models.base import Batch, MERModel, ModelSpec, mean_std
from merbench.registry import MODELS


class FittedModel(MERModel):
    """A model fitted by a solver (axis `models`), not by gradient steps.

    Contract beyond `MERModel`: ``statistics(batch) -> [M, D]`` the fixed-size input of the solver
    (no trainable part before it), and ``fit(x_train, y_train, x_dev, y_dev, score) -> rows``:
    fit on the training statistics, choose its own hyperparameters with ``score(probs [N_dev, C])
    -> float`` on the dev statistics (higher is better), and return one dict per candidate tried
    (``{"candidate": k, <option>: value, "score": dev score}``), the chosen one marked by
    `chosen`. ``losses`` is not used.
    """

    chosen: int = -1

    def statistics(self, batch: Batch) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def fit(
        self,
        x_train: np.ndarray,
        y_train: np.ndarray,
        x_dev: np.ndarray,
        y_dev: np.ndarray,
        score: Callable[[np.ndarray], float],
    ) -> list[dict[str, float]]:  # pragma: no cover - abstract
        raise NotImplementedError

    def losses(self, batch: Batch) -> dict[str, Tensor]:
        raise RuntimeError(f"{type(self).__name__} is fitted by a solver: it has no loss terms")


@dataclass
class LinearConfig:
    """Config of ``linear``: logistic regression on standardised utterance statistics.

    `inputs` which encoder outputs it reads (``audio``, ``text`` or ``both``, concatenated);
    per modality the statistics are the mean and the standard deviation of the real frames
    (an encoder that gives one vector per utterance, e.g. ``egemaps-functionals``, has std 0:
    constant columns are left at 0 by the standardisation). `cs` the inverse regularisation
    strengths tried (the one with the best dev score is kept; ties go to the smaller C);
    `class_weight` ``balanced`` (each class weighted by the inverse of its training frequency,
    what the unweighted-accuracy metric rewards) or ``none``; `max_iter` of the lbfgs solver.
    """

    inputs: Literal["audio", "text", "both"] = "audio"
    cs: tuple[float, ...] = (0.001, 0.01, 0.1, 1.0, 10.0)
    class_weight: Literal["balanced", "none"] = "balanced"
    max_iter: int = 2000

    def __post_init__(self) -> None:
        if not self.cs or any(c <= 0 for c in self.cs):
            raise UserError(f"models/linear.cs: positive numbers expected, got {list(self.cs)}")


@MODELS.register("linear", config=LinearConfig)
class LinearModel(FittedModel):
    """Standardised mean+std statistics of the encoder frames, then multinomial logistic
    regression (scikit-learn, lbfgs), C chosen on dev.

    ``statistics(batch) -> [M, D]`` (D = 2 d per modality read); ``logits(batch) -> [M, C]`` =
    ``W ((s - mu) / sigma) + b`` with mu, sigma the training statistics' mean and std (std 0
    counts as 1) and W, b the fitted coefficients (softmax of it = scikit-learn's predict_proba);
    ``embed`` the standardised statistics.
    """

    roles: dict[str, tuple[str, str]] = {}
    main_losses = ()
    mu: Tensor  # buffers: the training statistics' mean and std
    sigma: Tensor

    @staticmethod
    def reads(config: LinearConfig, components: dict) -> frozenset[str]:
        return frozenset(("audio", "text") if config.inputs == "both" else (config.inputs,))

    def __init__(self, config: LinearConfig, spec: ModelSpec) -> None:
        super().__init__()
        if spec.multilabel:
            raise UserError("models/linear: multi-label protocols are not supported")
        self.config, self.spec = config, spec
        width = {"audio": spec.audio_dim, "text": spec.text_dim}
        dim = sum(2 * width[m] for m in sorted(self.reads(config, {})))
        self.register_buffer("mu", torch.zeros(dim))
        self.register_buffer("sigma", torch.ones(dim))
        self.classifier = nn.Linear(dim, spec.num_classes)

    def statistics(self, batch: Batch) -> Tensor:
        parts = []
        if self.config.inputs in ("audio", "both"):
            parts.append(mean_std(batch.audio.float(), batch.audio_mask))
        if self.config.inputs in ("text", "both"):
            parts.append(mean_std(batch.text.float(), batch.text_mask))
        return torch.cat(parts, -1)

    def embed(self, batch: Batch) -> Tensor:
        return (self.statistics(batch) - self.mu) / self.sigma

    def logits(self, batch: Batch) -> Tensor:
        return self.classifier(self.embed(batch))

    def fit(self, x_train, y_train, x_dev, y_dev, score):  # noqa: D102 (contract: FittedModel)
        from sklearn.linear_model import LogisticRegression

        mu = x_train.mean(0)
        sigma = x_train.std(0)
        sigma[sigma < 1e-8] = 1.0
        xt, xd = (x_train - mu) / sigma, (x_dev - mu) / sigma
        weight = None if self.config.class_weight == "none" else "balanced"
        rows, best, best_fit = [], -np.inf, None
        for k, c in enumerate(sorted(self.config.cs)):
            lr = LogisticRegression(C=c, max_iter=self.config.max_iter, class_weight=weight)
            lr.fit(xt, y_train)
            probs = np.zeros((len(xd), self.spec.num_classes))
            probs[:, lr.classes_] = lr.predict_proba(xd)
            value = score(probs)
            rows.append({"candidate": float(k), "C": c, "score": value})
            if value > best:
                best, best_fit, self.chosen = value, lr, k
        assert best_fit is not None
        self._load(mu, sigma, best_fit)
        return rows

    def _load(self, mu: np.ndarray, sigma: np.ndarray, lr) -> None:
        """Copy the standardisation and the fitted coefficients into the module's tensors
        (classes never seen in training get logit -1e4, probability 0)."""
        with torch.no_grad():
            self.mu.copy_(torch.from_numpy(mu))
            self.sigma.copy_(torch.from_numpy(sigma))
            self.classifier.weight.zero_()
            self.classifier.bias.fill_(-1e4)
            coef, bias = lr.coef_, lr.intercept_
            if len(lr.classes_) == 2:  # binary: scikit-learn keeps one row, for class 1
                coef, bias = (
                    np.stack([-coef[0] / 2, coef[0] / 2]),
                    np.array([-bias[0], bias[0]]) / 2,
                )
            rows = torch.as_tensor(lr.classes_)
            self.classifier.weight[rows] = torch.from_numpy(coef).float()
            self.classifier.bias[rows] = torch.from_numpy(bias).float()

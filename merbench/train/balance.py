"""Loss balance: what each weighted loss term contributes, by value and by gradient.

A term whose scale is wrong (DRKF's eq. 10 taken literally: an MSE summed over frames and
dimensions, ~250 at step 0 against ~1.4 for classification) silently takes over training: after
gradient clipping the classification loss gets a vanishing share of every update. No value
printed in a log shows that; the share of the gradient does. `BalanceMeter` measures, on the
first steps of a run, every weighted term's value and its share of the gradient norm on the
model's shared parameters (`MERModel.shared_parameters`: for DRKF the adapters and the fusion
encoder), and names an auxiliary term that carries more than `threshold` of it.

share_k = ||grad of term k|| / sum_j ||grad of term j||, per step, averaged over the measured
steps: the shares of a step sum to 1. Norms, not projections: two terms whose gradients cancel
both count. Measuring costs one extra backward pass per term per measured step and changes
nothing in training (same graph, no randomness, no parameter update).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from merbench.models.base import MERModel


@dataclass
class BalanceLog:
    """Per term (weighted, as the model returns it): mean `values` and mean gradient-norm
    `shares` over `steps` measured steps; `dominant` names an auxiliary term above the threshold
    (empty when none), `threshold` the share that counts as dominating."""

    steps: int = 0
    values: dict[str, float] = field(default_factory=dict)
    shares: dict[str, float] = field(default_factory=dict)
    dominant: str = ""
    threshold: float = 0.9

    def metrics(self) -> dict[str, float]:
        """MLflow metrics: ``balance/<term>/value`` and ``balance/<term>/grad_share``."""
        out = {f"balance/{k}/value": v for k, v in self.values.items()}
        out.update({f"balance/{k}/grad_share": v for k, v in self.shares.items()})
        return out

    def warning(self) -> str:
        """One line naming the dominating auxiliary term, or "" when the terms are balanced."""
        if not self.dominant:
            return ""
        others = ", ".join(f"{k} {self.values[k]:.3g}" for k in self.values if k != self.dominant)
        return (
            f"loss balance: auxiliary term {self.dominant!r} carries "
            f"{100 * self.shares[self.dominant]:.0f}% of the gradient norm on the shared "
            f"parameters over the first {self.steps} steps (value {self.values[self.dominant]:.3g}; "
            f"{others}): check its weight or reduction"
        )


def gradient_norms(losses: dict[str, Tensor], params: list[nn.Parameter]) -> dict[str, float]:
    """The L2 norm of each term's gradient on `params` (a term that does not reach them: 0).

    `losses` are the weighted terms without ``total``; the graph is kept for the real backward.
    """
    norms = {}
    for name, value in losses.items():
        if not value.requires_grad:
            norms[name] = 0.0
            continue
        grads = torch.autograd.grad(value, params, retain_graph=True, allow_unused=True)
        squared = sum(float(g.detach().float().pow(2).sum()) for g in grads if g is not None)
        norms[name] = math.sqrt(squared)
    return norms


class BalanceMeter:
    """Measures the loss balance of a model on its first `steps` training steps.

    ``measure(losses)`` is called after the forward and before ``losses["total"].backward()``;
    ``log()`` returns the `BalanceLog`. Terms in `main` (the model's `main_losses`) are never
    flagged: only auxiliary terms are.
    """

    def __init__(self, model: MERModel, steps: int, threshold: float = 0.9) -> None:
        self.params = [p for p in model.shared_parameters() if p.requires_grad]
        self.main = set(getattr(model, "main_losses", ()))
        self.steps, self.threshold = steps, threshold
        self.measured = 0
        self.values: dict[str, float] = {}
        self.shares: dict[str, float] = {}

    @property
    def active(self) -> bool:
        return self.measured < self.steps and bool(self.params)

    def measure(self, losses: dict[str, Tensor]) -> None:
        terms = {k: v for k, v in losses.items() if k != "total"}
        if not self.active or len(terms) < 2:
            return
        norms = gradient_norms(terms, self.params)
        total = sum(norms.values())
        for name, value in terms.items():
            self.values[name] = self.values.get(name, 0.0) + float(value.detach())
            share = norms[name] / total if total > 0 else 0.0
            self.shares[name] = self.shares.get(name, 0.0) + share
        self.measured += 1

    def log(self) -> BalanceLog:
        n = max(self.measured, 1)
        values = {k: v / n for k, v in self.values.items()}
        shares = {k: v / n for k, v in self.shares.items()}
        auxiliary = {k: s for k, s in shares.items() if k not in self.main}
        dominant = max(auxiliary, key=auxiliary.__getitem__, default="")
        if dominant and auxiliary[dominant] <= self.threshold:
            dominant = ""
        return BalanceLog(self.measured, values, shares, dominant, self.threshold)

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

A term can also go wrong late: a contrastive loss with a learned temperature and no lower bound
falls for as long as the run lasts. So after the first steps the meter keeps sampling one step in
every `every` (2% of the steps at the default 50) and compares the *late* samples (the last
quarter of them) with the first window: an auxiliary term whose late share of the gradient is
above `threshold` dominates; a term whose late value is negative, more than `FALL` below its
first-window value and falling at least as fast in the last quarter of the run as in the quarter
before falls without bound (`falling_term`). Both are named in the log and the warning.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from statistics import fmean

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
    samples: list[dict[str, float]] = field(default_factory=list)
    late_values: dict[str, float] = field(default_factory=dict)
    late_shares: dict[str, float] = field(default_factory=dict)
    late_dominant: str = ""
    falling: str = ""

    def metrics(self) -> dict[str, float]:
        """MLflow metrics: ``balance/<term>/value`` and ``balance/<term>/grad_share`` (first
        window), ``balance/<term>/late_value`` and ``balance/<term>/late_grad_share``."""
        out = {f"balance/{k}/value": v for k, v in self.values.items()}
        out.update({f"balance/{k}/grad_share": v for k, v in self.shares.items()})
        out.update({f"balance/{k}/late_value": v for k, v in self.late_values.items()})
        out.update({f"balance/{k}/late_grad_share": v for k, v in self.late_shares.items()})
        return out

    def curves(self) -> list[dict[str, float]]:
        """The sampled steps as curve rows (``epoch`` = optimiser step, then
        ``balance_curve/<term>/value`` and ``.../grad_share``)."""
        return [
            {"epoch": s["step"]} | {f"balance_curve/{k}": v for k, v in s.items() if k != "step"}
            for s in self.samples
        ]

    def warning(self) -> str:
        """One line naming a dominating or unbounded term, or "" when the terms are balanced."""
        lines = []
        if self.dominant:
            others = ", ".join(
                f"{k} {self.values[k]:.3g}" for k in self.values if k != self.dominant
            )
            lines.append(
                f"loss balance: auxiliary term {self.dominant!r} carries "
                f"{100 * self.shares[self.dominant]:.0f}% of the gradient norm on the shared "
                f"parameters over the first {self.steps} steps (value "
                f"{self.values[self.dominant]:.3g}; {others}): check its weight or reduction"
            )
        if self.late_dominant and self.late_dominant != self.dominant:
            lines.append(
                f"loss balance: auxiliary term {self.late_dominant!r} comes to carry "
                f"{100 * self.late_shares[self.late_dominant]:.0f}% of the gradient norm late in "
                "the run: check its weight"
            )
        if self.falling:
            lines.append(
                f"loss balance: term {self.falling!r} falls without bound "
                f"({self.values[self.falling]:.3g} over the first steps, "
                f"{self.late_values[self.falling]:.3g} late, still falling): a contrastive term "
                "with a learned temperature needs its lower bound (tau_min)"
            )
        return "; ".join(lines)


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


#: A term falls without bound when its late value is below its first value by more than FALL
#: (weighted loss units: about half a 7-class cross-entropy at chance) and its fall is not
#: slowing down: a term that approaches a lower bound decelerates, one without a bound does not.
FALL = 1.0


def _dominant(shares: dict[str, float], main: set[str], threshold: float) -> str:
    auxiliary = {k: s for k, s in shares.items() if k not in main}
    top = max(auxiliary, key=auxiliary.__getitem__, default="")
    return top if top and auxiliary[top] > threshold else ""


def sample_terms(samples: list[dict[str, float]]) -> list[str]:
    """The loss terms recorded in `samples`, sorted."""
    return sorted({k.rsplit("/", 1)[0] for s in samples for k in s if k != "step"})


def falling_term(first: dict[str, float], samples: list[dict[str, float]]) -> str:
    """The term that falls without bound over `samples` (see the module docstring), or "".

    With q2, q3, q4 the mean values of the second, third and last quarter of the samples: the
    late value q4 is negative, more than `FALL` below the first value, and the fall does not
    slow down (q3 - q4 > 0 and q3 - q4 >= q2 - q3). The largest such fall is named."""
    quarter = len(samples) // 4
    if quarter < 1:
        return ""
    q2, q3 = samples[quarter : 2 * quarter], samples[2 * quarter : 3 * quarter]
    q4 = samples[3 * quarter :]
    worst, drop = "", 0.0
    for term in sample_terms(samples):
        key = f"{term}/value"
        start = first.get(term, samples[0][key])
        m2, m3, m4 = (fmean(s[key] for s in part) for part in (q2, q3, q4))
        unslowed = m3 - m4 > 0 and m3 - m4 >= m2 - m3
        if m4 < 0 and start - m4 > FALL and unslowed and start - m4 > drop:
            worst, drop = term, start - m4
    return worst


class BalanceMeter:
    """Measures the loss balance of a model on its first `steps` training steps, then on one step
    in every `every` (0: only the first steps).

    ``measure(losses)`` is called on every training step, after the forward and before
    ``losses["total"].backward()``; ``log()`` returns the `BalanceLog`. Terms in `main` (the
    model's `main_losses`) are never flagged as dominating: only auxiliary terms are.
    """

    def __init__(self, model: MERModel, steps: int, threshold: float = 0.9, every: int = 0) -> None:
        self.params = [p for p in model.shared_parameters() if p.requires_grad]
        self.main = set(getattr(model, "main_losses", ()))
        self.steps, self.threshold, self.every = steps, threshold, every
        self.measured = 0
        self.step = -1
        self.values: dict[str, float] = {}
        self.shares: dict[str, float] = {}
        self.samples: list[dict[str, float]] = []

    @property
    def active(self) -> bool:
        return self.measured < self.steps and bool(self.params)

    def sampling(self) -> bool:
        """Whether the current step is one of the later samples."""
        return self.every > 0 and self.step >= self.steps and self.step % self.every == 0

    def measure(self, losses: dict[str, Tensor]) -> None:
        self.step += 1
        terms = {k: v for k, v in losses.items() if k != "total"}
        first, later = self.active and self.step < self.steps, self.sampling()
        if not (first or later) or len(terms) < 2 or not self.params:
            return
        norms = gradient_norms(terms, self.params)
        total = sum(norms.values())
        sample: dict[str, float] = {"step": float(self.step)}
        for name, value in terms.items():
            share = norms[name] / total if total > 0 else 0.0
            sample[f"{name}/value"], sample[f"{name}/grad_share"] = float(value.detach()), share
        if later:
            self.samples.append(sample)
            return
        for name in terms:
            self.values[name] = self.values.get(name, 0.0) + sample[f"{name}/value"]
            self.shares[name] = self.shares.get(name, 0.0) + sample[f"{name}/grad_share"]
        self.measured += 1

    def log(self) -> BalanceLog:
        n = max(self.measured, 1)
        values = {k: v / n for k, v in self.values.items()}
        shares = {k: v / n for k, v in self.shares.items()}
        late = self.samples[-max(len(self.samples) // 4, 1) :]
        terms = sample_terms(late)
        late_values = {k: fmean(s[f"{k}/value"] for s in late) for k in terms}
        late_shares = {k: fmean(s[f"{k}/grad_share"] for s in late) for k in terms}
        return BalanceLog(
            self.measured,
            values,
            shares,
            _dominant(shares, self.main, self.threshold),
            self.threshold,
            samples=self.samples,
            late_values=late_values,
            late_shares=late_shares,
            late_dominant=_dominant(late_shares, self.main, self.threshold),
            falling=falling_term(values, self.samples),
        )

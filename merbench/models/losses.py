"""Loss functions shared by the augmentation objectives and the models (plain functions).

Every function states its reduction; the equation numbers are those of the DRKF paper.
Similarities are cosine similarities divided by the temperature `tau`.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch import Tensor


def cosine_logits(a: Tensor, b: Tensor, tau: Tensor | float) -> Tensor:
    """``sim(a_i, b_k) / tau`` for all pairs: ``a [M, D], b [K, D] -> [M, K]``."""
    return F.normalize(a, dim=-1) @ F.normalize(b, dim=-1).T / tau


def cross_negatives_loss(
    anchor: Tensor, positive: Tensor, negatives: Tensor, tau: Tensor | float
) -> Tensor:
    """Eq. 14/15 as printed (paper variant): positive NOT in the denominator.

    ``loss_i = -sim(anchor_i, positive_i)/tau + log sum_{k != i} exp(sim(anchor_i, negatives_k)/tau)``
    with `anchor`, `positive`, `negatives` ``[M, D]``. Returns the vector ``[M]`` (may be negative).
    With M = 1 there is no negative: returns zeros (the term is undefined).
    """
    m = anchor.shape[0]
    if m < 2:
        return anchor.new_zeros(m)
    pos = (F.normalize(anchor, dim=-1) * F.normalize(positive, dim=-1)).sum(-1) / tau
    neg = cosine_logits(anchor, negatives, tau)
    eye = torch.eye(m, dtype=torch.bool, device=anchor.device)
    neg = neg.masked_fill(eye, float("-inf"))
    return -pos + torch.logsumexp(neg, dim=1)


def info_nce(a: Tensor, b: Tensor, tau: Tensor | float) -> Tensor:
    """Eq. 16: InfoNCE of `a_i` against `b_k` over the batch, positive k = i in the denominator.

    ``a, b [M, D] -> [M]`` with ``loss_i = -log softmax_k(sim(a_i, b_k)/tau)[i]``.
    """
    logits = cosine_logits(a, b, tau)
    target = torch.arange(a.shape[0], device=a.device)
    return F.cross_entropy(logits, target, reduction="none")


def nt_xent(a: Tensor, b: Tensor, tau: Tensor | float) -> Tensor:
    """SimCLR NT-Xent between two views ``a, b [M, D]`` (the code variant of eq. 14/15).

    The 2M vectors ``[a; b]``: each anchor's positive is its other view, its negatives the 2M-2
    other vectors, positive in the denominator. Returns the mean over the 2M anchors (a scalar).
    """
    m = a.shape[0]
    z = torch.cat([a, b], 0)
    logits = cosine_logits(z, z, tau)
    eye = torch.eye(2 * m, dtype=torch.bool, device=a.device)
    logits = logits.masked_fill(eye, float("-inf"))
    target = torch.cat([torch.arange(m, 2 * m), torch.arange(0, m)]).to(a.device)
    return F.cross_entropy(logits, target)


def classification_loss(
    logits: Tensor, labels: Tensor, label_smoothing: float = 0.0, weight: Tensor | None = None
) -> Tensor:
    """Eq. 20: mean cross-entropy to class indices ``[M]``; mean BCE-with-logits for multi-label
    targets ``[M, C]``.

    `weight` ``[C]`` (class indices only): the weighted mean ``sum_i w[y_i] l_i / sum_i w[y_i]``
    of the per-utterance cross-entropies l_i (PyTorch's ``cross_entropy(weight=...)``).
    """
    if labels.dim() == 2:
        return F.binary_cross_entropy_with_logits(logits, labels.float())
    return F.cross_entropy(logits, labels.long(), weight=weight, label_smoothing=label_smoothing)


def masked_sum_squared_error(x: Tensor, y: Tensor, mask: Tensor) -> Tensor:
    """``sum over real frames and dims of (x - y)^2`` per sample: ``[M, T, d] -> [M]``."""
    return ((x - y).pow(2) * mask.unsqueeze(-1).to(x.dtype)).sum((1, 2))


def masked_mean_squared_error(x: Tensor, y: Tensor, mask: Tensor) -> Tensor:
    """Mean of ``(x - y)^2`` over the real (unpadded) elements of the batch: ``[M, T, d] -> []``.

    The squared error summed over real frames and dims, divided by (number of real frames x d):
    ``nn.MSELoss()`` restricted to the frames the mask keeps. Zero when no frame is real.
    """
    real = mask.sum().to(x.dtype) * x.shape[-1]
    return masked_sum_squared_error(x, y, mask).sum() / real.clamp_min(1.0)


def label_distribution(labels: Tensor, num_classes: int) -> Tensor:
    """One-hot ``[M, C]`` from class indices ``[M]``; a multi-label ``[M, C]`` target is normalised
    to sum to one (a row without any label stays all zero)."""
    if labels.dim() == 1:
        return F.one_hot(labels.long(), num_classes).float()
    y = labels.float()
    return y / y.sum(-1, keepdim=True).clamp_min(1.0)


def kl_to_labels(logits: Tensor, target: Tensor) -> Tensor:
    """Eq. 11: ``KL(y || softmax(logits))`` summed over classes, per sample: ``[M, C] -> [M]``.

    With a one-hot `target` this is the cross-entropy to the label.
    """
    return (torch.xlogy(target, target) - target * F.log_softmax(logits, -1)).sum(-1)


def pseudo_kl_code(logits_input: Tensor, logits_target: Tensor) -> Tensor:
    """The released code's KL term: ``F.kl_div(softmax(input), softmax(target), 'mean')``.

    Arguments in ``F.kl_div``'s order (input first). Probabilities are passed where
    log-probabilities belong, and the mean runs over all M*C elements:
    ``mean(p_target * (log p_target - p_input))``. A scalar. The released call is
    ``F.kl_div(origin_text_probs, aug_text_probs)``: input = the original, target = the augmented.
    """
    p_input, p_target = F.softmax(logits_input, -1), F.softmax(logits_target, -1)
    return (torch.xlogy(p_target, p_target) - p_target * p_input).mean()


def cmd(x: Tensor, y: Tensor, moments: int = 5) -> Tensor:
    """Central moment discrepancy (Zellinger et al. 2017, as used by MISA) of ``x [N, d]`` and
    ``y [K, d]``: ``||E x - E y|| + sum_{k=2..moments} ||C_k(x) - C_k(y)||`` (no range scaling)."""
    mx, my = x.mean(0), y.mean(0)
    cx, cy = x - mx, y - my
    total = torch.linalg.vector_norm(mx - my)
    for k in range(2, moments + 1):
        total = total + torch.linalg.vector_norm(cx.pow(k).mean(0) - cy.pow(k).mean(0))
    return total


def soft_orthogonality(a: Tensor, b: Tensor) -> Tensor:
    """MISA's difference loss: rows of ``a, b [N, d]`` centred over N and L2-normalised, then
    ``mean((a^T b)^2)`` over the d x d entries. Zero when the two subspaces are orthogonal."""
    a = F.normalize(a - a.mean(0, keepdim=True), dim=-1)
    b = F.normalize(b - b.mean(0, keepdim=True), dim=-1)
    return (a.T @ b).pow(2).mean()


class _GradReverse(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, scale: float) -> Tensor:
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None]:
        return -ctx.scale * grad, None


def grad_reverse(x: Tensor, scale: float = 1.0) -> Tensor:
    """Identity forward, gradient multiplied by ``-scale`` backward (Ganin & Lempitsky 2015)."""
    return _GradReverse.apply(x, scale)


def total_loss(terms: Iterable[Tensor]) -> Tensor:
    """The sum of loss terms, added left to right as ``sum`` does (so the same floats), typed as
    a tensor; at least one term."""
    return functools.reduce(operator.add, terms)

"""Emodality shuffling: the (audio_i, text_j) pairs of a batch and the ED loss (eq. 19).

Pairs are built by indexing, in one batched pass (no Python loop over pairs): every pair
``(i, j)`` of the batch, row-major, so that pair ``i * M + j`` joins audio i with text j. Both
variants run all M^2 pairs through the fusion encoder once; the EC reads the M matched pairs
(the diagonal) and the ED reads
- paper: all M^2 pairs (matched ones included), one logit, BCE (eq. 19);
- code: the M(M-1) pairs with i != j, two logits, softmax cross-entropy.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor


def all_pairs(m: int, device: torch.device | str = "cpu") -> tuple[Tensor, Tensor]:
    """Audio and text indices of the M^2 pairs, row-major: ``([0,0,..,1,1,..], [0,1,..,0,1,..])``."""
    idx = torch.arange(m, device=device)
    return idx.repeat_interleave(m), idx.repeat(m)


def matched(m: int, device: torch.device | str = "cpu") -> Tensor:
    """Positions of the matched pairs (i, i) among `all_pairs`: ``i * (M + 1)``."""
    return torch.arange(m, device=device) * (m + 1)


def ed_selection(m: int, variant: Literal["paper", "code"], device="cpu") -> Tensor:
    """Positions among `all_pairs` that the ED is trained on: all M^2 (paper) or i != j (code)."""
    ii, jj = all_pairs(m, device)
    if variant == "paper":
        return torch.arange(m * m, device=device)
    return torch.nonzero(ii != jj).squeeze(1)


def pair_labels(labels: Tensor, audio_idx: Tensor, text_idx: Tensor) -> Tensor:
    """1.0 where the two utterances of a pair have the same label, else 0.0 -> ``[P]`` float.

    Class indices ``[M]`` are compared directly; multi-label targets ``[M, C]`` must be equal on
    every class.
    """
    a, t = labels[audio_idx], labels[text_idx]
    same = a == t if labels.dim() == 1 else (a == t).all(-1)
    return same.float()


def ed_loss(
    logits: Tensor, target: Tensor, variant: Literal["paper", "code"], pos_weight: float = 1.0
) -> Tensor:
    """Mean ED loss over the pairs. paper: `logits` ``[P, 1]``, BCE (eq. 19); code: ``[P, 2]``,
    softmax cross-entropy. `pos_weight` weighs same-emotion pairs (1.0 = unweighted, the default)."""
    if variant == "paper":
        weight = None if pos_weight == 1.0 else logits.new_tensor([pos_weight])
        return F.binary_cross_entropy_with_logits(logits.squeeze(-1), target, pos_weight=weight)
    class_weight = None if pos_weight == 1.0 else logits.new_tensor([1.0, pos_weight])
    return F.cross_entropy(logits, target.long(), weight=class_weight)

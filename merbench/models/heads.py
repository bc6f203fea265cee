"""Classifier heads on a fused vector (axis `heads`): the EC and ED heads of DRKF and baselines.

Built as ``Head(config, in_dim, out_dim)``; ``forward(z [M, in_dim]) -> logits [M, out_dim]``.

- ``mlp``: the paper's heads ("Both ED and EC are implemented as two independent MLPs"). Its
  `variant` follows ``--variant``: ``code`` makes it one Linear, as the released code does.
- ``linear``: one Linear layer, always.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from torch import Tensor, nn

from merbench.models.base import Head
from merbench.registry import HEADS


@dataclass
class MLPHeadConfig:
    """Config of the ``mlp`` head: Linear(in, hidden), ReLU, dropout, Linear(hidden, out).

    `hidden` 0 means ``in_dim``; `variant` ``paper`` is the MLP, ``code`` one Linear(in, out).
    """

    hidden: int = 0
    dropout: float = 0.1
    variant: Literal["paper", "code"] = "paper"


@HEADS.register("mlp", config=MLPHeadConfig)
class MLPHead(Head):
    """Two-layer MLP classifier (paper variant) or one Linear (code variant).

    ``forward(z [M, in_dim]) -> logits [M, out_dim]``.
    """

    def __init__(self, config: MLPHeadConfig, in_dim: int, out_dim: int) -> None:
        super().__init__()
        if config.variant == "code":
            self.net: nn.Module = nn.Linear(in_dim, out_dim)
        else:
            hidden = config.hidden or in_dim
            self.net = nn.Sequential(
                nn.Linear(in_dim, hidden),
                nn.ReLU(),
                nn.Dropout(config.dropout),
                nn.Linear(hidden, out_dim),
            )

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)


@dataclass
class LinearHeadConfig:
    """Config of the ``linear`` head: dropout before one Linear(in, out)."""

    dropout: float = 0.0


@HEADS.register("linear", config=LinearHeadConfig)
class LinearHead(Head):
    """Dropout then one Linear layer. ``forward(z [M, in_dim]) -> logits [M, out_dim]``."""

    def __init__(self, config: LinearHeadConfig, in_dim: int, out_dim: int) -> None:
        super().__init__()
        self.dropout = nn.Dropout(config.dropout)
        self.linear = nn.Linear(in_dim, out_dim)

    def forward(self, z: Tensor) -> Tensor:
        return self.linear(self.dropout(z))

"""Training hyperparameters and device selection."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from merbench.errors import UserError


@dataclass
class TrainConfig:
    """Optimisation of one run. Defaults suit small adapters on frozen features on a CPU.

    Model selection (early stopping and the checkpoint kept) uses the dev split only, on
    `select_metric` ('' = the protocol's first headline metric); the test split is scored once, at
    the end, with the selected weights.
    """

    optimizer: Literal["adamw", "adam"] = "adamw"
    lr: float = 1e-3
    weight_decay: float = 1e-2
    batch_size: int = 32
    max_epochs: int = 30
    patience: int = 6
    grad_clip: float = 1.0
    select_metric: str = ""
    max_frames: int = 1024  # audio frames kept per utterance (longer inputs are cropped centrally)
    max_tokens: int = 128


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda`` when a GPU is visible, else ``cpu``; ``cuda`` without a GPU is an error."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda: no CUDA device is visible (use --device auto or cpu)")
    if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
        raise UserError(f"--device {device}: expected auto, cpu, cuda or cuda:N")
    return device

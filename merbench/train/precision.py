"""Mixed precision of one run: autocast dtype and gradient scaling (``--precision``).

`Precision(name, device)` takes a resolved precision (`merbench.device.resolve_precision`):
``fp32`` runs without autocast; ``bf16`` runs the forward under ``torch.autocast(device, bf16)``
(weights and optimiser state stay fp32); ``fp16`` (GPUs without bf16) adds a
``torch.amp.GradScaler`` so that small gradients do not underflow. The same code path serves all
three: a disabled scaler passes the loss and the optimiser step through unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

from merbench.device import autocast_dtype, resolve_precision


class Precision:
    """Autocast context and scaled backward/step for a resolved precision on a device."""

    def __init__(self, name: str, device: str) -> None:
        self.name = name
        self.device_type = "cuda" if device.startswith("cuda") else "cpu"
        self.dtype = autocast_dtype(name)
        self.scaled = name == "fp16"  # gradient scaling asked for (the scaler disables itself
        # when its device is absent, e.g. cuda on a CPU-only machine)
        self.scaler = torch.amp.GradScaler(self.device_type, enabled=self.scaled)

    @classmethod
    def resolve(cls, precision: str, device: str, large: bool = False) -> Precision:
        """`precision` (auto, fp32, bf16, fp16) resolved for `device` and a model that is `large`
        or not (`resolve_precision`; UserError if unsupported)."""
        return cls(resolve_precision(precision, device, large=large), device)

    def autocast(self) -> torch.autocast:
        return torch.autocast(self.device_type, dtype=self.dtype, enabled=self.dtype is not None)

    def step(
        self,
        loss: torch.Tensor,
        optimiser: torch.optim.Optimizer,
        parameters: Iterable[torch.nn.Parameter],
        grad_clip: float,
    ) -> None:
        """Backward of `loss` (scaled for fp16), gradient clipping on unscaled gradients, step."""
        self.scaler.scale(loss).backward()
        if grad_clip > 0:
            self.scaler.unscale_(optimiser)
            torch.nn.utils.clip_grad_norm_(parameters, grad_clip)
        self.scaler.step(optimiser)
        self.scaler.update()

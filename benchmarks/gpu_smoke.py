"""One-minute GPU smoke test of the training paths merbench cannot exercise on a CPU.

On a CUDA machine: a small DRKF (the `drkf` recipe: PCMI, self fusion, ED over the M^2 pairs) is
trained for a few steps on padded random batches under every precision the GPU supports
(``auto``, ``bf16`` if the GPU has it, ``fp16`` with the gradient scaler) through the same
`Precision` object `train_one` uses. It asserts that every tensor is on the GPU (the batch,
every module's inputs and outputs, parameters, gradients, optimiser state), that autocast ran in
the chosen dtype, that the scaler is on exactly for fp16, and that the losses are finite and
the weights changed. Without a GPU it says so and exits 0.

    PYTHONPATH=. .venv/bin/python benchmarks/gpu_smoke.py
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def padded_batch(m: int, device: str, seed: int):
    """A padded batch of eGeMAPS/MiniLM-shaped features (real lengths differ), on `device`."""
    import torch

    from merbench.models.base import Batch

    g = torch.Generator().manual_seed(seed)
    la, lt = torch.randint(20, 120, (m,), generator=g), torch.randint(3, 16, (m,), generator=g)
    am, tm = torch.arange(120)[None] < la[:, None], torch.arange(16)[None] < lt[:, None]
    audio = torch.randn(m, 120, 25, generator=g) * am[..., None]
    text = torch.randn(m, 16, 384, generator=g) * tm[..., None]
    return Batch(audio, am, text, tm, torch.arange(m) % 4).to(device)


def on_device(tensors, device: str, what: str) -> None:
    """Raise unless every tensor among `tensors` (others are ignored) is on `device`."""
    import torch

    for t in tensors:
        if torch.is_tensor(t) and t.device.type != device.split(":")[0]:
            raise AssertionError(f"{what}: a tensor is on {t.device}, not {device}")


def smoke(device: str, precisions: tuple[str, ...], steps: int = 5) -> list[str]:
    """Train a few steps under each precision on `device`; one line of findings per precision."""
    import torch

    from merbench.experiment.recipes import load_recipe, resolve
    from merbench.experiment.runner import model_factory
    from merbench.train.optim import make_optimiser
    from merbench.train.precision import Precision

    lines = []
    for requested in precisions:
        precision = Precision.resolve(requested, device)
        torch.manual_seed(0)
        config = resolve(load_recipe("drkf"))
        model = model_factory(config)(25, 384, 4).to(device).train()
        optimiser = make_optimiser(model, config.train)  # as train_one builds it
        before = [p.detach().clone() for p in model.parameters()]
        dtypes: set[torch.dtype] = set()

        def check(module, inputs, output, device=device, dtypes=dtypes):
            on_device(inputs, device, f"input of {type(module).__name__}")
            outputs = output if isinstance(output, tuple) else (output,)
            on_device(outputs, device, f"output of {type(module).__name__}")
            if isinstance(module, torch.nn.Linear):
                dtypes.add(output.dtype)

        hooks = [m.register_forward_hook(check) for m in model.modules()]
        for step in range(steps):
            batch = padded_batch(4, device, seed=step)
            on_device(vars(batch).values(), device, "batch")
            with precision.autocast():
                losses = model.losses(batch)
            on_device(losses.values(), device, "losses")
            assert all(torch.isfinite(v).all() for v in losses.values()), losses
            optimiser.zero_grad(set_to_none=True)
            precision.step(losses["total"], optimiser, model.parameters(), 1.0)
        for hook in hooks:
            hook.remove()
        on_device(list(model.parameters()), device, "parameters")
        on_device([p.grad for p in model.parameters() if p.grad is not None], device, "gradients")
        state = [v for s in optimiser.state.values() for v in s.values()]
        on_device([v for v in state if v.dim() > 0], device, "optimiser state")
        expected = precision.dtype or torch.float32
        assert dtypes == {expected}, f"{requested}: Linear outputs {dtypes}, expected {expected}"
        assert precision.scaler.is_enabled() == (precision.name == "fp16")
        changed = sum(
            not torch.equal(a, p.detach()) for a, p in zip(before, model.parameters(), strict=True)
        )
        assert changed > 0, "no weight changed"
        lines.append(f"{requested} -> {precision.name}: {steps} steps on {device}, autocast "
                     f"{expected}, scaler {'on' if precision.scaler.is_enabled() else 'off'}, "
                     f"{changed} weight tensors changed, last loss "
                     f"{float(losses['total']):.4f}")  # fmt: skip
    return lines


def main() -> int:
    import torch

    from merbench.device import native_bf16

    if not torch.cuda.is_available():
        print("gpu_smoke: no CUDA GPU visible; nothing to test (run this on a GPU machine)")
        return 0
    precisions = ("auto", "fp32", "fp16") + (("bf16",) if native_bf16("cuda") else ())
    for line in smoke("cuda", precisions):
        print(line)
    print(f"gpu_smoke: OK on {torch.cuda.get_device_name(0)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

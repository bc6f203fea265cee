"""Device selection shared by feature extraction and training: the GPU when there is one."""

from __future__ import annotations

from typing import Literal, get_args

from merbench.errors import UserError


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda`` when a GPU is visible, else ``cpu``; ``cuda`` without a GPU is an error."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
        raise UserError(f"--device {device}: expected auto, cpu, cuda or cuda:N")
    if device != "cpu" and not torch.cuda.is_available():
        raise UserError(f"--device {device}: no CUDA device is visible (use --device auto or cpu)")
    return device


#: Values of `TrainConfig.precision` / ``--precision``.
PrecisionName = Literal["auto", "fp32", "bf16", "fp16"]
PRECISIONS: tuple[str, ...] = get_args(PrecisionName)


def native_bf16(device: str) -> bool:
    """Whether `device` runs bf16 matmuls natively: a CUDA GPU that supports bf16, or a CPU whose
    oneDNN has bf16 kernels (AVX-512 / AMX / Arm bf16; ``torch.ops.mkldnn._is_mkldnn_bf16_supported``).
    On an AVX2-only CPU bf16 runs through slow reference kernels (a 2048^2 matmul did not finish in
    10 minutes), so it is never chosen there."""
    import torch

    if device.startswith("cuda"):
        return bool(torch.cuda.is_bf16_supported())
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def resolve_precision(
    precision: str, device: str, bf16: bool | None = None, large: bool = False
) -> str:
    """``fp32``, ``bf16`` or ``fp16`` for `precision` on `device` (``cpu``, ``cuda``, ``cuda:N``).

    ``auto``: on a GPU, bf16 where it is native, else fp16. On a CPU, bf16 only where it is native
    *and* the model is `large` (the caller's judgement: the experiment layer passes
    ``model.d >= 256``, `merbench.experiment.executors.threads.is_large`), else fp32: autocast
    casts every operand, which costs more than bf16 matmuls save on small ones. Measured on an
    AVX-512-bf16 CPU, one thread, a `drkf` training step (batch 4): bf16 takes 1.27x the fp32 time
    at d 64, 0.84x at d 256 and 0.74x at d 512; a whole synth fold of `drkf` (d 64) took 65 s in
    bf16 against 23 s in fp32. An explicit
    ``bf16`` on a device without native bf16, or ``fp16`` on a CPU, is a `UserError` (one line
    naming the device's limit), never a silent slow run. `bf16` overrides the detection
    (`native_bf16`), for tests and for callers that already know it.
    """
    if precision not in PRECISIONS:
        raise UserError(f"--precision {precision}: expected {', '.join(PRECISIONS)}")
    gpu = device.startswith("cuda")
    if precision == "fp32":
        return "fp32"
    if precision == "fp16":
        if not gpu:
            raise UserError(
                "--precision fp16: fp16 autocast needs a CUDA GPU; on a CPU use auto, fp32 or bf16"
            )
        return "fp16"
    native = native_bf16(device) if bf16 is None else bf16
    if precision == "bf16" and not native:
        what = "GPU" if gpu else "CPU (no AVX-512/AMX bf16 kernels)"
        instead = "fp16 or auto" if gpu else "auto or fp32"
        raise UserError(f"--precision bf16: this {what} has no native bf16; use {instead}")
    if gpu:
        return "bf16" if native else "fp16"
    return "bf16" if precision == "bf16" or (native and large) else "fp32"


def autocast_dtype(precision: str):
    """The autocast dtype of a resolved precision (None for fp32: no autocast)."""
    import torch

    return {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]

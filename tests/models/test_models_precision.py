"""Mixed precision: every model runs under bf16 autocast, bf16 agrees with fp32 within a stated
tolerance, and the GPU paths' logic (precision choice, autocast dtype, gradient scaler, device
placement) is exercised on the CPU with the device's capability injected."""

from __future__ import annotations

import dataclasses
import itertools

import pytest
import torch
from models_helpers import random_batch

from merbench.device import resolve_precision
from merbench.errors import UserError
from merbench.models.base import Batch, ModelSpec
from merbench.registry import MODELS
from merbench.train.precision import Precision

SMALL = {"layers": 1, "heads": 2}


def _cases() -> list[tuple[str, dict, dict]]:
    cases = []
    for aug, fusion, ed in itertools.product(
        ("none", "pcmi", "cmie"), ("self", "cross", "concat", "audio", "text"), (False, True)
    ):
        options = SMALL if fusion in ("self", "cross") else {}
        comps = {"augmentation": (aug, {}), "fusion": (fusion, options)}
        cases.append(("composed", {"d": 16, "ed": ed}, comps))
    code = {"fusion": ("self", {**SMALL, "variant": "code"})}
    cases.append(("composed", {"d": 16, "ed": True, "variant": "code"}, code))
    cases.append(("composed", {"d": 16}, {"adapter": ("transformer", SMALL), "ec": ("linear", {})}))
    cases += [(name, {"d": 16}, {}) for name in ("late", "misa", "fdrl")]
    return cases


def build(name: str, config: dict, components: dict, seed: int = 0):
    torch.manual_seed(seed)
    return MODELS.build(name, ModelSpec(10, 12, 4, components=components), **config)


BATCH = random_batch(m=4, ta=12, tt=6, da=10, dt=12, seed=3)


@pytest.mark.parametrize(("name", "config", "components"), _cases())
def test_every_model_trains_and_predicts_under_bf16_autocast(name, config, components):
    model = build(name, config, components)
    with torch.autocast("cpu", torch.bfloat16):
        losses = model.losses(BATCH)
        losses["total"].backward()
        model.eval()
        logits, embed = model.logits(BATCH), model.embed(BATCH)
    assert all(torch.isfinite(v).all() for v in losses.values())
    assert logits.shape == (4, 4) and torch.isfinite(logits.float()).all()
    assert torch.isfinite(embed.float()).all()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(g.dtype == torch.float32 for g in grads)  # master weights stay fp32


#: bf16 keeps 8 significant bits (relative step 2^-8 = 0.4%). On this batch (DRKF: PCMI, 1-layer
#: self fusion, ED; three initialisations) the largest observed differences are 2.2e-3 on logits
#: and 3.8e-3 on loss terms of order 0.1-5. Stated tolerance: 2e-2 absolute + 1e-2 relative.
TOL = {"atol": 2e-2, "rtol": 1e-2}


def test_bf16_autocast_agrees_with_fp32_on_a_fixed_batch():
    config = {"d": 16, "ed": True}
    components = {"augmentation": ("pcmi", {}), "fusion": ("self", SMALL)}
    model = build("composed", config, components).eval()  # eval: no dropout, same computation
    with torch.no_grad():
        torch.manual_seed(1)
        fp32_logits, fp32_losses = model.logits(BATCH), model.losses(BATCH)
        with torch.autocast("cpu", torch.bfloat16):
            torch.manual_seed(1)
            bf16_logits, bf16_losses = model.logits(BATCH), model.losses(BATCH)
    assert bf16_logits.dtype == torch.bfloat16  # autocast really ran in bf16
    torch.testing.assert_close(bf16_logits.float(), fp32_logits, **TOL)
    assert (
        set(bf16_losses) == set(fp32_losses) == {"mse", "kld", "contrastive", "ed", "ec", "total"}
    )
    for key, value in fp32_losses.items():
        torch.testing.assert_close(bf16_losses[key].float(), value, **TOL, msg=key)


CAPABILITY = [  # (device, native bf16, requested) -> resolved precision, or the error's words
    # (for a large model; a small one: test_auto_on_a_cpu_takes_bf16_only_for_a_large_model)
    ("cpu", False, "auto", "fp32"),
    ("cpu", False, "fp32", "fp32"),
    (
        "cpu",
        False,
        "bf16",
        "CPU (no AVX-512/AMX bf16 kernels) has no native bf16; use auto or fp32",
    ),
    ("cpu", False, "fp16", "needs a CUDA GPU"),
    ("cpu", True, "auto", "bf16"),
    ("cpu", True, "bf16", "bf16"),
    ("cuda", True, "auto", "bf16"),
    ("cuda:1", True, "fp16", "fp16"),
    ("cuda", False, "auto", "fp16"),
    ("cuda", False, "bf16", "GPU has no native bf16; use fp16 or auto"),
    ("cuda", False, "fp32", "fp32"),
]


@pytest.mark.parametrize(("device", "native", "requested", "expected"), CAPABILITY)
def test_precision_choice_per_device_and_capability(device, native, requested, expected):
    if expected in ("fp32", "bf16", "fp16"):
        assert resolve_precision(requested, device, bf16=native, large=True) == expected
    else:
        with pytest.raises(UserError, match=expected.replace("(", r"\(").replace(")", r"\)")):
            resolve_precision(requested, device, bf16=native, large=True)


def test_auto_on_a_cpu_takes_bf16_only_for_a_large_model():
    assert resolve_precision("auto", "cpu", bf16=True, large=False) == "fp32"
    assert resolve_precision("auto", "cpu", bf16=True, large=True) == "bf16"
    assert resolve_precision("bf16", "cpu", bf16=True, large=False) == "bf16"  # asked for: given
    assert resolve_precision("auto", "cuda", bf16=True, large=False) == "bf16"  # GPUs: any size
    assert resolve_precision("auto", "cuda", bf16=False, large=False) == "fp16"


def test_auto_detects_this_cpu(monkeypatch):
    import merbench.device as device

    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: False)
    assert device.resolve_precision("auto", "cpu") == "fp32"
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: True)
    assert device.resolve_precision("auto", "cpu", large=True) == "bf16"
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)
    assert device.resolve_precision("auto", "cuda") == "fp16"
    with pytest.raises(UserError, match="--precision fp64: expected auto, fp32, bf16, fp16"):
        device.resolve_precision("fp64", "cpu")


@pytest.mark.filterwarnings("ignore:.*CUDA is not available.*")
@pytest.mark.parametrize(
    ("name", "device", "dtype", "scaler"),
    [("fp32", "cpu", None, False), ("bf16", "cpu", torch.bfloat16, False),
     ("bf16", "cuda", torch.bfloat16, False), ("fp16", "cuda:0", torch.float16, True)],
)  # fmt: skip
def test_autocast_dtype_and_scaler_per_precision(name, device, dtype, scaler):
    precision = Precision(name, device)
    context = precision.autocast()
    assert context.device == device.split(":")[0]
    assert precision.dtype == dtype and precision.scaled == scaler
    assert precision.scaler._device == device.split(":")[0]
    if dtype is not None:
        assert context.fast_dtype == dtype


def test_fp16_scaler_scales_the_loss_and_unscales_before_clipping_and_stepping():
    """The fp16 path on the CPU (CPU autocast has fp16 kernels; a GPU is not pretended): the
    first backward overflows fp16 (d loss / d out = 65536 > 65504, the largest fp16): the step is
    skipped and the scale halved; the next backward sees the loss times 32768 and the optimiser the
    true gradient, unscaled and then clipped."""
    torch.manual_seed(0)
    layer = torch.nn.Linear(3, 1, bias=False)
    optimiser = torch.optim.SGD(layer.parameters(), lr=1.0)
    precision = Precision("fp16", "cpu")
    assert precision.scaler.is_enabled() and precision.scaler.get_scale() == 65536.0
    seen = []
    layer.weight.register_hook(lambda g: seen.append(g.clone()))
    x = torch.tensor([[0.1, 0.2, 0.3]])  # d loss / d w = x

    def step() -> None:
        with precision.autocast():
            out = layer(x)
        assert out.dtype == torch.float16
        optimiser.zero_grad()
        precision.step(out.float().sum(), optimiser, layer.parameters(), grad_clip=0.2)

    before = layer.weight.detach().clone()
    step()
    assert torch.isinf(seen[-1]).all()
    assert torch.equal(layer.weight.detach(), before) and precision.scaler.get_scale() == 32768.0
    step()
    torch.testing.assert_close(seen[-1], 32768.0 * x, rtol=1e-3, atol=0)  # scaled backward
    clipped = 0.2 * x / x.norm()  # unscaled (x), then clipped to norm 0.2
    torch.testing.assert_close(layer.weight.detach(), before - clipped, rtol=1e-3, atol=1e-4)


def test_batch_to_places_every_tensor_on_the_device():
    moved = BATCH.to("meta")  # a device without data: placement is checked, no GPU pretended
    tensors = [f.name for f in dataclasses.fields(Batch) if torch.is_tensor(getattr(BATCH, f.name))]
    assert tensors == ["audio", "audio_mask", "text", "text_mask", "labels"]
    assert all(getattr(moved, name).device.type == "meta" for name in tensors)
    assert moved.ids == BATCH.ids

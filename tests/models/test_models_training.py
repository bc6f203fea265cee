"""Every registered model trains: its loss falls on a small separable random problem."""

from __future__ import annotations

import pytest
import torch
from models_helpers import random_batch

from merbench.models.base import ModelSpec
from merbench.registry import MODELS

SMALL = {"d": 16}
CASES = {
    "concat": ("composed", {"fusion": ("concat", {})}, {}),
    "audio-only": ("composed", {"fusion": ("audio", {})}, {}),
    "text-only": ("composed", {"fusion": ("text", {})}, {}),
    "bme": ("composed", {"fusion": ("self", {"layers": 1})}, {}),
    "drkf": (
        "composed",
        {"augmentation": ("pcmi", {"hidden": (16, 8, 4)}), "fusion": ("self", {"layers": 1})},
        {"ed": True},
    ),
    "drkf-code": (
        "composed",
        {
            "augmentation": ("pcmi", {"hidden": (16, 8, 4), "variant": "code"}),
            "fusion": ("self", {"layers": 1, "variant": "code"}),
            "ec": ("linear", {}),
            "ed": ("linear", {}),
        },
        {"ed": True, "variant": "code"},
    ),
    "cmie-cross": (
        "composed",
        {"augmentation": ("cmie", {}), "fusion": ("cross", {"layers": 1})},
        {"ed": True},
    ),
    "transformer-adapter": (
        "composed",
        {"adapter": ("transformer", {"layers": 1}), "fusion": ("concat", {})},
        {},
    ),
    "late": ("late", {}, {}),
    "fdrl": ("fdrl", {}, {}),
    "fdrl-cmd": ("fdrl", {}, {"align": "cmd"}),
    "misa": ("misa", {}, {}),
}


def train(model_name: str, components: dict, options: dict, steps: int = 30):
    torch.manual_seed(0)
    spec = ModelSpec(25, 384, 4, components=components)
    model = MODELS.build(model_name, spec, **{**SMALL, **options})
    batch = random_batch(m=8, separation=0.5, seed=1)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = last = None
    for _ in range(steps):
        model.train()
        losses = model.losses(batch)
        assert torch.isfinite(losses["total"])
        opt.zero_grad()
        losses["total"].backward()
        opt.step()
        first = losses["total"].item() if first is None else first
        last = losses["total"].item()
    model.eval()
    with torch.no_grad():
        logits = model.logits(batch)
        embedding = model.embed(batch)
    return model, batch, first, last, logits, embedding


@pytest.mark.parametrize("case", sorted(CASES))
def test_model_loss_decreases_and_fits(case):
    model_name, components, options = CASES[case]
    # the paper's L_MSE (summed over frames and dims) dominates the first steps of pcmi
    steps = 60 if case == "drkf" else 30
    model, batch, first, last, logits, embedding = train(model_name, components, options, steps)
    assert last < first
    assert logits.shape == (8, 4)
    assert embedding.shape[0] == 8
    accuracy = (logits.argmax(1) == batch.labels).float().mean().item()
    assert accuracy >= 0.75


def test_every_registered_model_is_covered():
    # `linear` is fitted by a solver, not by gradient steps: tests/test_train_fitted.py
    assert set(MODELS.names()) == {"composed", "late", "fdrl", "misa", "linear"}
    assert {case[0] for case in CASES.values()} == set(MODELS.names()) - {"linear"}

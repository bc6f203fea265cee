"""The learned contrastive temperature's lower bound (`tau_min`) and the whole-run loss watch.

A PCMI objective trained alone for 3,000 steps on one fixed batch (tiny widths): with the literal
eq. 14-15 (tau_min = 0) tau collapses and L_c falls without bound, which the balance meter
names; with the default bound tau stays at or above tau_min and L_c above its bound.
"""

from __future__ import annotations

import math

import pytest
import torch

from merbench.experiment import tracking
from merbench.experiment.plan import DatasetRef, RunTask
from merbench.experiment.recipes import apply_overrides, load_recipe, resolve
from merbench.models.augmentations import PCMI, TAU_MIN, PCMIConfig
from merbench.models.base import MERModel
from merbench.train.balance import BalanceLog, BalanceMeter

STEPS, M, D = 3000, 8, 8


class AloneModel(MERModel):
    """PCMI's own loss terms on one fixed batch (no classifier), for the balance meter."""

    main_losses = ("kld",)

    def __init__(self, tau_min: float) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.aug = PCMI(PCMIConfig(blocks=1, hidden=(D, D, D), tau_min=tau_min), D, 4)
        g = torch.Generator().manual_seed(0)
        self.audio, self.text = torch.randn(M, 5, D, generator=g), torch.randn(M, 5, D, generator=g)
        self.labels = torch.arange(M) % 4

    def losses(self, batch=None):
        mask = torch.ones(M, 5, dtype=torch.bool)
        _, _, losses = self.aug(self.audio, mask, self.text, mask, self.labels)
        return losses | {"total": sum(losses.values())}


def train_alone(tau_min: float) -> tuple[AloneModel, BalanceLog, float]:
    """(model, balance log, lowest unweighted L_c seen) after `STEPS` Adam steps (lr 1e-3)."""
    model = AloneModel(tau_min)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    meter = BalanceMeter(model, steps=10, every=50)
    lowest = math.inf
    for _ in range(STEPS):
        losses = model.losses()
        meter.measure(losses)
        optimiser.zero_grad()
        losses["total"].backward()
        optimiser.step()
        lowest = min(lowest, float(losses["contrastive"].detach()) / model.aug.config.beta)
    return model, meter.log(), lowest


@pytest.fixture(scope="module")
def runs() -> dict[float, tuple[AloneModel, BalanceLog, float]]:
    torch.set_num_threads(1)
    return {tau_min: train_alone(tau_min) for tau_min in (0.0, TAU_MIN)}


def test_literal_temperature_collapses_and_the_watch_names_the_falling_term(runs):
    model, log, lowest = runs[0.0]
    assert float(model.aug.tau()) < 0.05  # from sigmoid(1) = 0.731
    assert lowest < -40  # below the bound the default tau_min would guarantee
    assert log.falling == "contrastive"
    assert "'contrastive' falls without bound" in log.warning()


def test_default_tau_min_keeps_tau_and_the_contrastive_term_bounded(runs):
    model, log, lowest = runs[TAU_MIN]
    assert float(model.aug.tau()) >= TAU_MIN
    # eq. 14 and 15 each >= -2/tau + log(M-1), eq. 16 >= 0
    assert lowest >= 2 * (-2 / TAU_MIN + math.log(M - 1))
    assert log.falling == ""


def test_a_run_whose_term_falls_is_tagged_and_warned(tmp_path, monkeypatch, runs):
    from merbench.train import loop

    real = loop.train_one

    def with_falling_log(*args, **kwargs):
        result = real(*args, **kwargs)
        result.balance = runs[0.0][1]
        return result

    monkeypatch.setattr(loop, "train_one", with_falling_log)
    raw = load_recipe("drkf")
    apply_overrides(raw, {"train.max_epochs": 1, "train.patience": 1})
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    task = RunTask(
        name="drkf", grid="", config=resolve(raw),
        dataset=DatasetRef("synth", None, (("sessions", 3), ("utterances_per_session", 8))),
        dataset_identity_json="{}", split="fold1", seed=0, run_key="k", config_key="c",
        device="cpu", tracking_uri=uri, cache_dir=str(tmp_path / "cache"),
    )  # fmt: skip
    from merbench.experiment.runner import execute_task

    outcome = execute_task(task)
    assert outcome.status == "FINISHED", outcome.error
    assert "falls without bound" in outcome.warning
    client = tracking.client(uri)
    (run,) = client.search_runs([client.get_experiment_by_name(tracking.EXPERIMENT).experiment_id])
    assert run.data.tags["merbench.balance_falling"] == "contrastive"
    assert run.data.metrics["balance/contrastive/late_value"] < -1

"""Loss balance: each term's value and gradient-norm share, the warning on a dominating term."""

from __future__ import annotations

import pytest
import torch
from test_train import toy_corpus

from merbench.experiment.recipes import apply_overrides, load_recipe, resolve
from merbench.experiment.runner import model_factory
from merbench.models.base import Batch, MERModel
from merbench.train.balance import BalanceMeter
from merbench.train.config import TrainConfig
from merbench.train.loop import train_one


class TwoTerms(MERModel):
    """One shared scalar w and one private scalar v: ec = w + v, aux = k * w."""

    def __init__(self, k: float) -> None:
        super().__init__()
        self.w, self.v, self.k = (
            torch.nn.Parameter(torch.tensor(2.0)),
            torch.nn.Parameter(torch.tensor(1.0)),
            k,
        )

    def shared_parameters(self):
        return [self.w]

    def losses(self, batch: Batch | None = None):
        losses = {"ec": self.w + self.v, "aux": self.k * self.w}
        losses["total"] = losses["ec"] + losses["aux"]
        return losses


def test_shares_are_gradient_norms_on_the_shared_parameters_by_hand():
    # d ec / d w = 1, d aux / d w = 3 (v is not shared: its gradient does not count)
    model = TwoTerms(3.0)
    meter = BalanceMeter(model, steps=2)
    meter.measure(model.losses())
    meter.measure(model.losses())
    meter.measure(model.losses())  # beyond `steps`: ignored
    log = meter.log()
    assert log.steps == 2
    assert log.values == pytest.approx({"ec": 3.0, "aux": 6.0})
    assert log.shares == pytest.approx({"ec": 0.25, "aux": 0.75})
    assert log.dominant == "" and log.warning() == ""  # 75% <= 90%
    assert log.metrics()["balance/aux/grad_share"] == pytest.approx(0.75)


def test_warning_names_an_auxiliary_term_above_ninety_percent_never_the_main_one():
    log = BalanceMeter_log(TwoTerms(19.0))  # 19 / 20 = 95%
    assert log.dominant == "aux"
    assert "'aux' carries 95% of the gradient norm" in log.warning()
    main_heavy = BalanceMeter_log(TwoTerms(0.01))  # ec carries 99%: the main term is never flagged
    assert main_heavy.dominant == ""


def BalanceMeter_log(model):  # noqa: N802 - reads as the object it returns
    meter = BalanceMeter(model, steps=1)
    meter.measure(model.losses())
    return meter.log()


def drkf_config(**overrides):
    recipe = load_recipe("drkf")
    apply_overrides(recipe, {"train.max_epochs": 1, **overrides})
    return resolve(recipe)


def test_balance_warning_fires_on_a_planted_term_scaled_by_1e4_and_not_on_the_default_recipe():
    torch.set_num_threads(1)
    corpus, audio, text = toy_corpus()
    split = corpus.protocol.splits[0]
    train = TrainConfig(max_epochs=1, batch_size=4, patience=1)
    default = train_one(model_factory(drkf_config()), corpus, split, audio, text, train, 0)
    assert default.balance.steps == 8  # 32 training utterances / batch 4: the whole first epoch
    assert set(default.balance.shares) == {"mse", "kld", "contrastive", "ec", "ed"}
    assert sum(default.balance.shares.values()) == pytest.approx(1.0)
    assert default.balance.dominant == ""
    assert max(default.balance.shares.values()) < 0.9
    planted = train_one(
        model_factory(drkf_config(**{"augmentation.alpha": 0.2 * 1e4})),
        corpus, split, audio, text, train, 0,
    )  # fmt: skip
    assert planted.balance.dominant == "mse"
    assert planted.balance.shares["mse"] > 0.9
    assert "'mse' carries" in planted.balance.warning()


def test_measuring_the_balance_does_not_change_training():
    corpus, audio, text = toy_corpus()
    split = corpus.protocol.splits[0]
    train = TrainConfig(max_epochs=2, batch_size=4, patience=2)
    runs = [
        train_one(
            model_factory(drkf_config()), corpus, split, audio, text, train, 0, balance_steps=steps
        )  # fmt: skip
        for steps in (0, 10)
    ]
    assert runs[0].balance.steps == 0 and runs[1].balance.steps == 10
    assert runs[0].metrics == runs[1].metrics
    assert runs[0].curves == runs[1].curves


def test_paper_scale_first_step_terms_are_within_two_orders_of_magnitude():
    # the drkf-paper-scale recipe on random inputs of paper shapes: d 1024, 349 audio frames,
    # 32 tokens, batch 4. With eq. 10 summed (mse_reduction=sum) L_MSE alone is ~1e5 x the others
    torch.set_num_threads(1)
    torch.manual_seed(0)
    config = resolve(load_recipe("drkf-paper-scale"))
    model = model_factory(config)(1024, 1024, 4)
    batch = Batch.random(4, 349, 32, 1024, 1024)
    with torch.no_grad():
        losses = model.losses(batch)
    terms = {k: abs(float(v)) for k, v in losses.items() if k != "total"}
    assert set(terms) == {"mse", "kld", "contrastive", "ec", "ed"}
    assert max(terms.values()) / min(terms.values()) < 100, terms
    # eq. 10 literally (the summed reduction) is ~1e5 times larger: the check above would fail
    model.augmentation.config.mse_reduction = "sum"
    with torch.no_grad():
        audio, audio_mask, text, text_mask = model.encode(batch)
        summed = model.augmentation(audio, audio_mask, text, text_mask, batch.labels)[2]["mse"]
    assert float(summed) / terms["mse"] > 1e4

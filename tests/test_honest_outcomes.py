"""Honest outcomes: a run that diverged or never trained is FAILED with its reason, and
the logged ``dev/*`` metrics are the selected checkpoint's, not the last epoch's."""

from __future__ import annotations

import pytest
from test_train import concat_config, toy_corpus

from merbench.data.base import Split
from merbench.experiment import tracking
from merbench.experiment.recipes import load_recipe, resolve
from merbench.experiment.runner import model_factory
from merbench.train.config import TrainConfig
from merbench.train.guards import RunFailed
from merbench.train.loop import train_one


@pytest.mark.parametrize(("recipe", "step", "term"), [("concat", 2, "ec"), ("drkf", 1, "mse")])
def test_a_non_finite_loss_stops_the_run_naming_step_and_term(recipe, step, term) -> None:
    corpus, audio, text = toy_corpus()
    config = TrainConfig(max_epochs=3, batch_size=8, lr=1e6)
    with pytest.raises(
        RunFailed, match=f"diverged at epoch 0 step {step}: loss term '{term}'"
    ) as e:
        train_one(model_factory(resolve(load_recipe(recipe))), corpus, corpus.protocol.splits[0],
                  audio, text, config, seed=0)  # fmt: skip
    assert e.value.tags == {"failure": "diverged", "failure_step": str(step), "failure_term": term}


def test_a_run_without_an_optimiser_step_is_failed_with_the_reason() -> None:
    corpus, audio, text = toy_corpus()
    full = corpus.protocol.splits[0]
    one = Split("one", full.train[:1], full.dev, full.test)  # a batch of 1 is never a step
    with pytest.raises(RunFailed, match=r"never trained: no optimiser step was taken \(1 training"):
        train_one(model_factory(concat_config()), corpus, one, audio, text,
                  TrainConfig(max_epochs=2, batch_size=8), seed=0)  # fmt: skip


def test_selecting_the_untrained_weights_is_failed(monkeypatch) -> None:
    import merbench.train.loop as loop

    corpus, audio, text = toy_corpus()
    real_score = loop.score

    def nan_dev_score(maker, ids, probs, headline):
        scores = real_score(maker, ids, probs, headline)
        return {k: float("nan") for k in scores}  # no epoch beats the untrained model

    monkeypatch.setattr(loop, "score", nan_dev_score)
    with pytest.raises(RunFailed, match="the selected checkpoint is the untrained model"):
        train_one(model_factory(concat_config()), corpus, corpus.protocol.splits[0], audio, text,
                  TrainConfig(max_epochs=2, batch_size=8), seed=0)  # fmt: skip


def test_failed_run_carries_step_and_term_tags_and_is_not_finished(tmp_path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    with pytest.raises(RunFailed):
        with tracking.TrackedRun(uri, "concat", {f"{tracking.TAG}run_key": "k"}) as run:
            raise RunFailed("diverged at epoch 0 step 3: loss term 'ec' is nan",
                            {"failure": "diverged", "failure_step": "3", "failure_term": "ec"})  # fmt: skip
    info = tracking.client(uri).get_run(run.run_id)
    assert info.info.status == "FAILED"
    tags = info.data.tags
    assert tags["merbench.failure_step"] == "3" and tags["merbench.failure_term"] == "ec"
    assert tags["merbench.error"].startswith("diverged at epoch 0 step 3")
    assert tracking.load_runs(uri).empty  # nothing in the runs table


def test_logged_dev_metrics_are_the_selected_checkpoints(tmp_path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    curves = [{"epoch": 0.0, "train/loss": 1.0, "dev/ua": 0.7},
              {"epoch": 1.0, "train/loss": 0.5, "dev/ua": 0.4}]  # fmt: skip
    with tracking.TrackedRun(uri, "concat", {f"{tracking.TAG}run_key": "k"}) as run:
        run.log_epoch_curves(curves)
        run.log_metrics({"dev/ua": 0.7, "test/ua": 0.6})  # the selected checkpoint (epoch 0)
    c = tracking.client(uri)
    assert c.get_run(run.run_id).data.metrics["dev/ua"] == pytest.approx(0.7)
    history = [m.value for m in c.get_metric_history(run.run_id, "dev_curve/ua")]
    assert history == pytest.approx([0.7, 0.4])
    assert tracking.load_runs(uri)["dev/ua"].tolist() == pytest.approx([0.7])

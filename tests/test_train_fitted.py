"""The `linear` reference model: fitted by a solver through `train_one`, C chosen on dev."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from test_train import toy_corpus

from merbench.errors import UserError
from merbench.experiment.recipes import apply_overrides, load_recipe, resolve
from merbench.experiment.runner import model_factory
from merbench.models.base import Batch, ModelSpec, mean_std
from merbench.models.linear import LinearConfig, LinearModel
from merbench.train.config import TrainConfig
from merbench.train.loop import train_one


def linear_config(**overrides):
    recipe = load_recipe("linear-egemaps")
    apply_overrides(recipe, overrides)
    return resolve(recipe)


def test_mean_std_of_frames_by_hand():
    x = torch.tensor([[[1.0, 0.0], [3.0, 2.0], [9.0, 9.0]]])
    mask = torch.tensor([[True, True, False]])  # the third frame is padding
    assert mean_std(x, mask)[0].tolist() == pytest.approx([2.0, 1.0, 1.0, 1.0], abs=1e-5)


def test_linear_run_matches_scikit_learn_on_the_same_statistics_with_the_dev_chosen_c():
    corpus, audio, text = toy_corpus()
    split = corpus.protocol.splits[0]
    train = TrainConfig(batch_size=5)  # statistics are pooled batch by batch: any size
    result = train_one(model_factory(linear_config()), corpus, split, audio, text, train, 0)
    cs = (0.001, 0.01, 0.1, 1.0, 10.0)
    assert [row["fit/C"] for row in result.curves] == list(cs)
    dev_ua = [row["dev/ua"] for row in result.curves]
    assert result.best_epoch == dev_ua.index(max(dev_ua))  # first of the best: ties -> smaller C
    assert result.metrics["dev/ua"] == pytest.approx(max(dev_ua))

    def stats(ids):
        rows = []
        for i in ids:
            a = np.asarray(audio[i], dtype=np.float64)
            rows.append(np.concatenate([a.mean(0), a.std(0)]))
        return np.array(rows)

    labels = corpus.protocol.labels
    x_train, x_test = stats(split.train), stats(split.test)
    mu, sigma = x_train.mean(0), x_train.std(0)
    y_train = [labels.index(corpus[i].label) for i in split.train]
    reference = LogisticRegression(C=cs[result.best_epoch], max_iter=2000, class_weight="balanced")
    reference.fit((x_train - mu) / sigma, y_train)
    expected = reference.predict_proba((x_test - mu) / sigma)
    got = result.predictions[[f"prob/{lab}" for lab in labels]].to_numpy()
    np.testing.assert_allclose(got, expected, atol=2e-4)
    assert result.metrics["test/ua"] == 1.0  # the toy classes are separable


def test_linear_reads_only_the_modality_it_is_given():
    spec = ModelSpec(audio_dim=6, text_dim=5, num_classes=4)
    both = LinearModel(LinearConfig(inputs="both"), spec)
    assert both.classifier.in_features == 2 * 6 + 2 * 5
    assert LinearModel.reads(LinearConfig(inputs="text"), {}) == frozenset({"text"})
    batch = Batch.random(3, 4, 2, 6, 5)
    assert both.statistics(batch).shape == (3, 22)


def test_linear_refuses_bad_options_and_multilabel_protocols():
    spec = ModelSpec(6, 5, 4)
    with pytest.raises(UserError, match="cs: positive numbers expected"):
        LinearConfig(cs=(0.0, 1.0))
    with pytest.raises(UserError, match="multi-label"):
        LinearModel(LinearConfig(), ModelSpec(6, 5, 4, multilabel=True))
    with pytest.raises(RuntimeError, match="fitted by a solver"):
        LinearModel(LinearConfig(), spec).losses(Batch.random(2, 3, 2, 6, 5))

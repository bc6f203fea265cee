"""``train.class_weight``: balanced class weights in the classification loss, their values, the
loss they give, and run keys unchanged for configurations that leave it at ``none``."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from merbench.data.base import Corpus, Protocol, Split, Utterance
from merbench.experiment.recipes import apply_overrides, load_recipe, resolve
from merbench.experiment.resolved import ResolvedConfig
from merbench.experiment.runner import model_factory
from merbench.models.base import Batch
from merbench.models.losses import classification_loss
from merbench.train.batches import BatchMaker
from merbench.train.config import TrainConfig
from merbench.train.loop import class_weights, train_one

LABELS = ("neutral", "happy", "sad", "angry")
COUNTS = (6, 3, 2, 1)  # training utterances per class


class ArrayFeatures(dict):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim


def imbalanced_corpus() -> tuple[Corpus, ArrayFeatures, ArrayFeatures]:
    """Training utterances 6, 3, 2, 1 per class (class k shifts audio dim k by +3); dev and test
    two of each class."""
    rng = np.random.default_rng(0)
    audio, text = ArrayFeatures(4), ArrayFeatures(3)
    utts, parts = [], {"train": [], "dev": [], "test": []}
    for k, (label, n) in enumerate(zip(LABELS, COUNTS, strict=True)):
        for part, count in (("train", n), ("dev", 2), ("test", 2)):
            for j in range(count):
                uid = f"{part}-{k}-{j}"
                a = rng.normal(size=(5, 4)).astype(np.float32)
                a[:, k] += 3
                audio[uid], text[uid] = a, rng.normal(size=(2, 3)).astype(np.float32)
                utts.append(Utterance(uid, f"s{j}", "g", "x", None, label))
                parts[part].append(uid)
    split = Split("only", *(tuple(parts[p]) for p in ("train", "dev", "test")))
    return Corpus("toy", utts, Protocol(LABELS, (split,), ("ua",), "given")), audio, text


def functionals_config(**train: str) -> ResolvedConfig:
    raw = load_recipe("audio-functionals")
    apply_overrides(raw, {f"train.{k}": v for k, v in train.items()})
    return resolve(raw)


def test_balanced_weights_are_n_over_c_times_the_class_count() -> None:
    corpus, audio, text = imbalanced_corpus()
    maker = BatchMaker(corpus, audio, text)
    train = corpus.protocol.splits[0].train
    weights = class_weights(maker, train, "balanced")
    assert weights is not None
    # N = 12, C = 4: 12 / (4 * n_c)
    assert weights.tolist() == pytest.approx([0.5, 1.0, 1.5, 3.0])
    assert class_weights(maker, train, "none") is None
    without_angry = tuple(i for i in train if not i.startswith("train-3"))
    assert class_weights(maker, without_angry, "balanced").tolist() == pytest.approx(
        [11 / 24, 11 / 12, 11 / 8, 0.0]
    )  # N = 11; a class without training utterances weighs 0


def test_weighted_cross_entropy_matches_hand_computation() -> None:
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 0.0], [0.0, 1.0, 3.0]])
    labels = torch.tensor([0, 1, 2])
    weight = torch.tensor([0.5, 1.0, 3.0])

    def nll(row: list[float], k: int) -> float:
        return -(row[k] - math.log(sum(math.exp(v) for v in row)))

    terms = [nll(logits[i].tolist(), int(labels[i])) for i in range(3)]
    expected = (0.5 * terms[0] + 1.0 * terms[1] + 3.0 * terms[2]) / (0.5 + 1.0 + 3.0)
    assert float(classification_loss(logits, labels, weight=weight)) == pytest.approx(expected)
    assert float(classification_loss(logits, labels)) == pytest.approx(sum(terms) / 3)


def test_the_composed_models_loss_reads_the_batch_class_weights() -> None:
    corpus, audio, text = imbalanced_corpus()
    batch = BatchMaker(corpus, audio, text).make(list(corpus.protocol.splits[0].train))
    factory = model_factory(functionals_config(class_weight="none"))
    model = factory(4, 3, 4).eval()  # eval: dropout off
    weights = torch.tensor([0.5, 1.0, 1.5, 3.0])
    with torch.no_grad():
        weighted = model.losses(Batch(**{**batch.__dict__, "class_weights": weights}))["ec"]
        plain = model.losses(batch)["ec"]
        per_utt = torch.nn.functional.cross_entropy(
            model.logits(batch), batch.labels, reduction="none"
        )
    w = weights[batch.labels]
    assert float(weighted) == pytest.approx(float((w * per_utt).sum() / w.sum()), rel=1e-5)
    assert float(plain) == pytest.approx(float(per_utt.mean()), rel=1e-5)


def test_the_run_identity_holds_class_weight_only_when_it_is_set() -> None:
    plain = functionals_config(class_weight="none")
    # keys recorded before these fields existed hold
    assert not {"class_weight", "standardise"} & set(plain.to_dict()["train"])
    weighted = functionals_config(class_weight="balanced")
    assert weighted.to_dict()["train"]["class_weight"] == "balanced"
    assert ResolvedConfig.from_json(weighted.to_json()).train.class_weight == "balanced"
    assert ResolvedConfig.from_json(plain.to_json()).train == plain.train


def test_a_run_with_balanced_weights_trains_with_them_on_every_step() -> None:
    corpus, audio, text = imbalanced_corpus()
    seen: list[torch.Tensor | None] = []
    factory = model_factory(functionals_config(class_weight="none"))

    def spying_factory(*dims: int):
        model = factory(*dims)
        original = model.losses

        def losses(batch):
            seen.append(batch.class_weights)
            return original(batch)

        model.losses = losses
        return model

    config = TrainConfig(max_epochs=3, batch_size=4, class_weight="balanced")
    result = train_one(spying_factory, corpus, corpus.protocol.splits[0], audio, text, config, 0)
    assert len(seen) == 9 and result.metrics["test/ua"] >= 0  # 3 epochs x 3 batches of 4
    for weights in seen:
        assert weights is not None and weights.tolist() == pytest.approx([0.5, 1.0, 1.5, 3.0])

"""One run: device selection, early stopping on dev, test touched once, determinism."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from merbench.data.base import Corpus, Protocol, Split, Utterance
from merbench.device import resolve_device
from merbench.errors import UserError
from merbench.experiment.runner import model_factory
from merbench.registry import FUSIONS, MODELS
from merbench.train.config import TrainConfig
from merbench.train.loop import train_one

LABELS = ("neutral", "happy", "sad", "angry")


class ArrayFeatures(dict):
    """In-memory stand-in for a feature-store entry: ``feats[id] -> [T, d]`` and ``dim``."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim


def toy_corpus(n_per_class: int = 12, seed: int = 0) -> tuple[Corpus, ArrayFeatures, ArrayFeatures]:
    """A separable 4-class corpus: class k shifts audio dim k and text dim k by +3."""
    rng = np.random.default_rng(seed)
    audio, text = ArrayFeatures(6), ArrayFeatures(5)
    utts = []
    for k, label in enumerate(LABELS):
        for j in range(n_per_class):
            uid = f"u{k}_{j:02d}"
            a = rng.normal(size=(int(rng.integers(8, 20)), 6)).astype(np.float16)
            a[:, k] += 3
            t = rng.normal(size=(int(rng.integers(3, 7)), 5)).astype(np.float16)
            t[:, k] += 3
            audio[uid], text[uid] = a, t
            utts.append(Utterance(uid, f"s{j % 2}", f"g{j % 3}", "x", None, label))
    ids = [u.id for u in utts]
    split = Split("only", tuple(i for i in ids if int(i[-2:]) < 8),
                  tuple(i for i in ids if 8 <= int(i[-2:]) < 10),
                  tuple(i for i in ids if int(i[-2:]) >= 10))  # fmt: skip
    protocol = Protocol(LABELS, (split,), ("ua", "wa", "avg"), "ids 8-9 of each class")
    return Corpus("toy", utts, protocol), audio, text


def concat_config() -> dict:
    from merbench.experiment.recipes import load_recipe, resolve

    return resolve(load_recipe("concat"))


def test_resolve_device_auto_uses_the_gpu_when_there_is_one(monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == "cpu"
    with pytest.raises(UserError, match="no CUDA device is visible"):
        resolve_device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == "cuda"
    assert resolve_device("cuda:1") == "cuda:1"
    with pytest.raises(UserError, match="expected auto, cpu, cuda or cuda:N"):
        resolve_device("tpu")


def test_train_one_learns_a_separable_problem_and_reports_every_part() -> None:
    corpus, audio, text = toy_corpus()
    config = TrainConfig(max_epochs=25, patience=5, batch_size=8, lr=3e-3)
    result = train_one(model_factory(concat_config()), corpus, corpus.protocol.splits[0],
                       audio, text, config, seed=0)  # fmt: skip
    assert result.metrics["test/ua"] == pytest.approx(1.0)
    assert result.metrics["test/avg"] == pytest.approx(
        (result.metrics["test/ua"] + result.metrics["test/wa"]) / 2
    )
    assert {"dev/ua", "dev/wa", "test/wf1", "test/macro_f1"} <= set(result.metrics)
    split = corpus.protocol.splits[0]
    assert list(result.predictions["id"]) == list(split.test)
    assert list(result.predictions.columns[:3]) == ["id", "label", "prediction"]
    probs = result.predictions[[f"prob/{c}" for c in LABELS]].to_numpy()
    np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-5)
    # early stopping: training ends `patience` epochs (max(5, ceil(0.5 * 25)) = 13) after the best
    # smoothed dev epoch, plus the 2 epochs a centred 5-epoch mean waits for (or at the cap)
    last = int(result.curves[-1]["epoch"])
    assert last == min(result.best_epoch + 13 + 2, config.max_epochs - 1)


def test_test_split_is_scored_once_after_selection_on_dev(monkeypatch) -> None:
    corpus, audio, text = toy_corpus()
    split = corpus.protocol.splits[0]
    seen: list[list[str]] = []
    factory = model_factory(concat_config())

    def spying_factory(*dims: int):
        model = factory(*dims)
        original = model.logits

        def logits(batch):
            seen.append(list(batch.ids))
            return original(batch)

        model.logits = logits
        return model

    train_one(spying_factory, corpus, split, audio, text,
              TrainConfig(max_epochs=4, patience=10, batch_size=64), seed=0)  # fmt: skip
    test_ids = set(split.test)
    calls_with_test = [ids for ids in seen if set(ids) & test_ids]
    assert len(calls_with_test) == 1 and set(calls_with_test[0]) == test_ids


def test_same_seed_same_results_different_seed_differs() -> None:
    corpus, audio, text = toy_corpus()
    split = corpus.protocol.splits[0]
    config = TrainConfig(max_epochs=3, patience=3, batch_size=8)
    factory = model_factory(concat_config())
    a = train_one(factory, corpus, split, audio, text, config, seed=1)
    b = train_one(factory, corpus, split, audio, text, config, seed=1)
    c = train_one(factory, corpus, split, audio, text, config, seed=2)
    assert a.metrics == b.metrics
    np.testing.assert_array_equal(a.predictions["prob/happy"], b.predictions["prob/happy"])
    assert not np.array_equal(a.predictions["prob/happy"], c.predictions["prob/happy"])


def test_model_factory_passes_resolved_components() -> None:
    config = concat_config()
    model = model_factory(config)(6, 5, 4)
    assert isinstance(model, MODELS.get("composed").obj)
    assert config.components["fusion"].name == "concat"
    assert isinstance(model.fusion, FUSIONS.get("concat").obj)
    assert model.ed_head is None  # ed off in the concat recipe


def test_avg_is_the_mean_of_the_headline_metrics_only() -> None:
    from merbench.train.batches import BatchMaker
    from merbench.train.loop import score

    corpus, audio, text = toy_corpus(n_per_class=2)
    ids = ("u0_00", "u0_01", "u1_00", "u1_01", "u2_00", "u3_00")  # labels 0 0 1 1 2 3
    probs = np.eye(4)[[0, 1, 1, 1, 2, 2]]  # predictions 0 1 1 1 2 2
    scores = score(BatchMaker(corpus, audio, text), ids, probs, ("ua", "wa", "avg"))
    # recalls: neutral 1/2, happy 2/2, sad 1/1, angry 0/1 -> UA 0.625; WA 4/6
    assert scores["ua"] == pytest.approx(0.625)
    assert scores["wa"] == pytest.approx(4 / 6)
    assert scores["avg"] == pytest.approx((0.625 + 4 / 6) / 2)
    assert {"wf1", "macro_f1"} <= set(scores)

"""`train_one` under each precision: the resolved precision is the one trained in and reported."""

from __future__ import annotations

import pytest
import torch
from test_train import concat_config, toy_corpus

from merbench.errors import UserError
from merbench.train.config import TrainConfig
from merbench.train.loop import train_one


def _train(precision: str, large_model: bool = False):
    corpus, audio, text = toy_corpus()
    config = TrainConfig(max_epochs=1, patience=1, batch_size=8, precision=precision)
    return train_one(concat_config_factory(), corpus, corpus.protocol.splits[0], audio, text,
                     config, seed=0, large_model=large_model)  # fmt: skip


def concat_config_factory():
    from merbench.experiment.runner import model_factory

    return model_factory(concat_config())


def test_auto_trains_in_fp32_on_a_cpu_without_native_bf16(monkeypatch):
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: False)
    assert _train("auto").precision == "fp32"
    with pytest.raises(UserError, match="--precision bf16: this CPU"):
        _train("bf16")


def test_bf16_trains_under_autocast_where_the_cpu_has_it(monkeypatch):
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: True)
    seen = []
    original = torch.nn.Linear.forward

    def spy(self, x):
        y = original(self, x)
        seen.append(y.dtype)
        return y

    monkeypatch.setattr(torch.nn.Linear, "forward", spy)
    assert _train("auto").precision == "fp32"  # a small model: autocast would not pay
    assert set(seen) == {torch.float32}
    seen.clear()
    result = _train("auto", large_model=True)
    assert result.precision == "bf16"
    assert seen and set(seen) == {torch.bfloat16}  # training and prediction ran under autocast
    assert all(0.0 <= v <= 1.0 for k, v in result.metrics.items() if k.startswith("test/"))

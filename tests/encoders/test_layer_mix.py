"""``layer = "learned"`` of ``hf`` encoders: every hidden state cached side by side, and softmax
weights over them trained with the model (the SUPERB featuriser)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from merbench.experiment.recipes import configurations
from merbench.experiment.runner import model_factory
from merbench.models.base import Batch
from merbench.models.layer_mix import LayerMix, LayerMixModel


@pytest.fixture(scope="module")
def w2v(tmp_path_factory, tiny_wav2vec2) -> Path:
    return tiny_wav2vec2(tmp_path_factory.mktemp("mix") / "w2v", hidden=16, layers=2)


def test_layer_mix_is_the_softmax_weighted_sum_of_the_stacked_layers() -> None:
    mix = LayerMix(3)
    with torch.no_grad():
        mix.logits.copy_(torch.log(torch.tensor([1.0, 2.0, 1.0])))  # softmax: 1/4, 1/2, 1/4
    x = torch.tensor([[[1.0, 2.0, 10.0, 20.0, 100.0, 200.0]]])  # [1, 1, 3 layers * 2]
    np.testing.assert_allclose(mix(x).detach().numpy(), [[[30.25, 60.5]]], rtol=1e-6)
    assert torch.allclose(LayerMix(3).weights(), torch.full((3,), 1 / 3))


def test_learned_layer_stacks_every_hidden_state(w2v: Path) -> None:
    from merbench.encoders import build_encoder

    wave = (0.3 * np.sin(np.arange(8000) / 10)).astype(np.float32)
    stacked = build_encoder(f"hf:{w2v}", layer="learned")
    assert stacked.stacked_layers == 3 and stacked.dim == 48
    frames = stacked.encode([wave])[0]
    per_layer = [build_encoder(f"hf:{w2v}", layer=str(k)).encode([wave])[0] for k in range(3)]
    np.testing.assert_allclose(frames, np.concatenate(per_layer, axis=1), atol=1e-5)
    # memory estimate of a batch counts the stacked copy
    assert stacked.batch_bytes([8000]) > build_encoder(f"hf:{w2v}").batch_bytes([8000])


def test_the_mix_weights_train_with_the_head(w2v: Path) -> None:
    (conf,) = configurations(
        recipe="audio-only",
        overrides={"encoders.audio": f"hf:{w2v}", "encoders.audio.layer": "learned"},
    )
    assert conf.config.to_dict()["encoders"]["audio"] == {"name": f"hf:{w2v}", "layer": "learned"}
    model = model_factory(conf.config)(48, 384, 4)
    assert isinstance(model, LayerMixModel) and model.text_mix is None
    assert model.audio_mix is not None and model.audio_mix.layers == 3
    assert any(p is model.audio_mix.logits for p in model.shared_parameters())
    batch = Batch.random(8, 12, 5, 48, 384, seed=0)
    optimiser = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(5):
        optimiser.zero_grad()
        model.losses(batch)["total"].backward()
        optimiser.step()
    weights = model.audio_mix.weights().detach()
    assert float(weights.sum()) == pytest.approx(1.0)
    assert not torch.allclose(weights, torch.full((3,), 1 / 3))
    assert model.logits(batch).shape == (8, 4)


def test_options_other_than_learned_build_the_model_unwrapped(w2v: Path) -> None:
    (conf,) = configurations(
        recipe="audio-only", overrides={"encoders.audio": f"hf:{w2v}", "encoders.audio.layer": "1"}
    )
    assert not isinstance(model_factory(conf.config)(16, 384, 4), LayerMixModel)

"""The `hf-finetune` adapter on tiny Hugging Face models saved with save_pretrained (offline)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import transformers

from merbench.errors import UserError
from merbench.registry import build


def save_bert(folder: Path) -> str:
    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=50,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=32,
    )
    transformers.BertModel(config).save_pretrained(folder)
    return str(folder)


def test_audio_backbone_trains_end_to_end_with_its_frame_mask(tmp_path, tiny_wav2vec2):
    # 1 layer, 16 wide; convolutions (kernels 10, 3; strides 5, 2) map N samples to
    # floor((floor((N - 10) / 5) + 1 - 3) / 2) + 1 frames
    path = str(
        tiny_wav2vec2(
            tmp_path / "w2v", hidden=16, layers=1, conv_dim=(8, 8), conv_kernel=(10, 3),
            conv_stride=(5, 2),
        )
    )  # fmt: skip
    adapter = build("adapters", "hf-finetune", 0, 8, "audio", audio_path=path)
    waveform = torch.randn(2, 400)
    mask = torch.zeros(2, 400, dtype=torch.bool)
    mask[0, :400] = True
    mask[1, :200] = True
    out_mask = adapter.output_mask(mask)
    # 400 samples -> 79 -> 39 frames; 200 samples -> 39 -> 19 frames
    assert out_mask.sum(1).tolist() == [39, 19]
    y = adapter(waveform, mask)
    assert y.shape == (2, 39, 8)
    assert torch.all(y[1, 19:] == 0)
    y.sum().backward()
    # the transformer of the backbone is trained, its convolutional front end stays frozen
    encoder_grads = [p.grad for p in adapter.backbone.encoder.parameters()]
    assert any(g is not None and g.abs().sum() > 0 for g in encoder_grads)
    assert all(not p.requires_grad for p in adapter.backbone.feature_extractor.parameters())


def test_text_backbone_takes_token_ids(tmp_path):
    path = save_bert(tmp_path / "bert")
    adapter = build("adapters", "hf-finetune", 0, 8, "text", text_path=path)
    ids = torch.tensor([[2, 7, 9, 3], [2, 5, 3, 0]])
    mask = ids != 0
    y = adapter(ids, mask)
    assert y.shape == (2, 4, 8)
    assert torch.equal(adapter.output_mask(mask), mask)
    assert torch.all(y[1, 3] == 0)
    y.sum().backward()
    assert adapter.backbone.embeddings.word_embeddings.weight.grad.abs().sum() > 0


def test_missing_or_unloadable_backbone_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="audio_path"):
        build("adapters", "hf-finetune", 0, 8, "audio")
    with pytest.raises(UserError, match="nothing: no such model folder"):
        build("adapters", "hf-finetune", 0, 8, "text", text_path=str(tmp_path / "nothing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="empty: not a Hugging Face model folder"):
        build("adapters", "hf-finetune", 0, 8, "text", text_path=str(tmp_path / "empty"))

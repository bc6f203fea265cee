"""`hf:<path>` encoders on tiny randomly initialised models saved with save_pretrained and loaded
back by path through the real loading code; offline errors; layer and pooling options."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
import transformers

from merbench.encoders import build_encoder
from merbench.errors import UserError


@pytest.fixture
def save_wav2vec2(tiny_wav2vec2) -> Callable[..., Path]:
    """``save_wav2vec2(folder, norm, seed=0)``: a 2-layer, 32-wide wav2vec2 whose convolution stack
    is kernels (10, 3, 3), strides (5, 2, 2), with its feature extractor."""

    def save(folder: Path, norm: str, seed: int = 0) -> Path:
        extractor = {"do_normalize": True, "return_attention_mask": norm == "layer"}
        return tiny_wav2vec2(folder, norm=norm, seed=seed, feature_extractor=extractor)

    return save


def save_tiny_bert(folder: Path) -> Path:
    """A 2-layer, 32-wide BERT with the MiniLM tokenizer (saved beside it)."""
    from merbench.encoders.text import minilm_folder

    torch.manual_seed(0)
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(minilm_folder()))
    config = transformers.BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    transformers.BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def conv_frames(samples: int) -> int:
    """Frames of the tiny wav2vec2 stack by hand: floor((L - k) / s) + 1 per layer."""
    for kernel, stride in ((10, 5), (3, 2), (3, 2)):
        samples = (samples - kernel) // stride + 1
    return samples


@pytest.fixture(scope="module")
def waves() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    t = np.arange(16000) / 16000
    return [
        (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32),  # 1.0 s
        (0.1 * rng.standard_normal(4000)).astype(np.float32),  # 0.25 s
        (0.2 * np.sin(2 * np.pi * 330 * t[:9000])).astype(np.float32),  # 0.5625 s
    ]


@pytest.mark.parametrize("norm", ["group", "layer"])
def test_wav2vec2_padded_batch_equals_one_at_a_time(
    tmp_path: Path, waves, norm: str, save_wav2vec2
) -> None:
    folder = save_wav2vec2(tmp_path / f"w2v-{norm}", norm)
    encoder = build_encoder(f"hf:{folder}")
    assert encoder.modality == "audio" and encoder.dim == 32 and encoder.sample_rate == 16000
    assert encoder.frame_rate == 16000 / 20
    batched = encoder.encode(waves)
    assert encoder.forward_calls == 1
    assert [b.shape for b in batched] == [(conv_frames(len(w)), 32) for w in waves]
    assert conv_frames(16000) == 799
    for wave, got in zip(waves, batched, strict=True):
        alone = encoder.encode([wave])[0]
        np.testing.assert_allclose(got, alone, atol=1e-4, rtol=1e-4)
    assert encoder.forward_calls == 4


def test_bert_padded_batch_equals_one_at_a_time(tmp_path: Path) -> None:
    encoder = build_encoder(f"hf:{save_tiny_bert(tmp_path / 'bert')}")
    assert encoder.modality == "text" and encoder.dim == 32 and encoder.frame_rate is None
    texts = ["ok", "we should talk about what happened yesterday", ""]
    batched = encoder.encode(texts)
    assert [b.shape[0] for b in batched] == [3, 9, 2]  # word pieces + [CLS] + [SEP]
    assert [encoder.input_length(t) for t in texts] == [3, 9, 2]
    for text, got in zip(texts, batched, strict=True):
        np.testing.assert_allclose(got, encoder.encode([text])[0], atol=1e-5, rtol=1e-4)


def test_layer_and_pooling_options_select_hidden_states(tmp_path: Path) -> None:
    folder = save_tiny_bert(tmp_path / "bert")
    text = "that is wonderful news"
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder))
    model = transformers.AutoModel.from_pretrained(str(folder)).eval()
    with torch.no_grad():
        out = model(**tokenizer([text], return_tensors="pt"), output_hidden_states=True)
    hidden = [h[0].numpy() for h in out.hidden_states]  # embeddings, layer 1, layer 2
    assert len(hidden) == 3

    def enc(**options):
        return build_encoder(f"hf:{folder}", **options).encode([text])[0]

    np.testing.assert_allclose(enc(), out.last_hidden_state[0].numpy(), atol=1e-5)
    np.testing.assert_allclose(enc(layer="0"), hidden[0], atol=1e-5)
    np.testing.assert_allclose(enc(layer="-2"), hidden[1], atol=1e-5)
    np.testing.assert_allclose(enc(layer="mean"), sum(hidden) / 3, atol=1e-5)
    weighted = enc(layer="weighted", layer_weights="1,0,3")
    np.testing.assert_allclose(weighted, 0.25 * hidden[0] + 0.75 * hidden[2], atol=1e-5)
    pooled = enc(pooling="mean")
    assert pooled.shape == (1, 32)
    np.testing.assert_allclose(pooled[0], out.last_hidden_state[0].numpy().mean(0), atol=1e-5)
    np.testing.assert_allclose(enc(pooling="first")[0], out.last_hidden_state[0, 0].numpy(), 1e-5)
    with pytest.raises(UserError, match="layer_weights has 2 values"):
        enc(layer="weighted", layer_weights="1,2")
    with pytest.raises(UserError, match="layer '7'"):
        enc(layer="7")


def test_whisper_encoder_keeps_frames_of_the_real_audio(tmp_path: Path, waves) -> None:
    torch.manual_seed(0)
    config = transformers.WhisperConfig(
        d_model=32,
        encoder_layers=2,
        encoder_attention_heads=2,
        encoder_ffn_dim=64,
        decoder_layers=1,
        decoder_attention_heads=2,
        decoder_ffn_dim=64,
        vocab_size=64,
        num_mel_bins=80,
        pad_token_id=1,
        bos_token_id=2,
        eos_token_id=3,
        decoder_start_token_id=2,
        suppress_tokens=[],
        begin_suppress_tokens=[],
    )
    folder = tmp_path / "whisper"
    transformers.WhisperModel(config).save_pretrained(folder)
    transformers.WhisperFeatureExtractor(feature_size=80).save_pretrained(folder)
    encoder = build_encoder(f"hf:{folder}")
    assert encoder.modality == "audio" and encoder.dim == 32 and encoder.frame_rate == 50.0
    batched = encoder.encode(waves)
    assert [b.shape[0] for b in batched] == [math.ceil(len(w) / 320) for w in waves] == [50, 13, 29]
    np.testing.assert_allclose(batched[1], encoder.encode([waves[1]])[0], atol=1e-4)


def test_checkpoint_hash_is_the_weights_identity(tmp_path: Path, save_wav2vec2) -> None:
    a = build_encoder(f"hf:{save_wav2vec2(tmp_path / 'a', 'layer', seed=0)}")
    b = build_encoder(f"hf:{save_wav2vec2(tmp_path / 'b', 'layer', seed=0)}")
    c = build_encoder(f"hf:{save_wav2vec2(tmp_path / 'c', 'layer', seed=1)}")
    assert a.weights_identity().startswith("sha256:")
    assert a.weights_identity() == b.weights_identity() != c.weights_identity()
    assert a.key() == b.key() != c.key()  # same weights in two folders: one store entry
    assert a.key()["config"]["layer"] == "last" and a.key()["name"] == "hf"


def test_model_missing_locally_is_one_user_error_naming_it(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # offline: the error comes at once, no request
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    name = "audeering/wav2vec2-large-robust-12-ft-emotion-msp-dim"
    with pytest.raises(UserError) as err:
        build_encoder(f"hf:{name}")
    message = str(err.value)
    assert "\n" not in message and name in message and f"huggingface-cli download {name}" in message
    with pytest.raises(UserError, match="no such model folder"):
        build_encoder(f"hf:{tmp_path / 'nowhere'}")
    with pytest.raises(UserError, match="needs a model"):
        build_encoder("hf:")
    with pytest.raises(UserError, match="unknown encoders plugin 'wav2vec9'"):
        build_encoder("wav2vec9")
    with pytest.raises(UserError, match="unknown option pooling_size"):
        build_encoder("minilm", pooling_size=3)


def test_hub_name_found_in_the_local_cache_is_name_at_commit(
    tmp_path, monkeypatch, save_wav2vec2
) -> None:
    cache = tmp_path / "hub"
    commit = "0123456789abcdef0123456789abcdef01234567"
    snapshot = cache / "models--someone--tiny-w2v" / "snapshots" / commit
    save_wav2vec2(snapshot, "layer")
    (cache / "models--someone--tiny-w2v" / "refs").mkdir()
    (cache / "models--someone--tiny-w2v" / "refs" / "main").write_text(commit)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    encoder = build_encoder("hf:someone/tiny-w2v")
    assert encoder.weights_identity() == f"someone/tiny-w2v@{commit}"
    assert encoder.encode([np.zeros(1600, np.float32)])[0].shape == (conv_frames(1600), 32)

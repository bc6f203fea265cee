"""The built-in encoders for real: openSMILE eGeMAPS / ComParE, numpy log-mel, packaged MiniLM."""

from __future__ import annotations

import numpy as np
import pytest

from merbench.encoders import build_encoder
from merbench.encoders.acoustic import mel_filterbank
from merbench.registry import ENCODERS


def sine(seconds: float, hz: float = 220.0) -> np.ndarray:
    t = np.arange(int(16000 * seconds)) / 16000
    return (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def test_builtin_encoders_are_registered_with_configs() -> None:
    assert {"egemaps", "compare", "logmel", "minilm", "hf"} <= set(ENCODERS.names())
    assert ENCODERS.get("compare").config_fields() == {"deltas": False}
    assert ENCODERS.get("minilm").config_fields()["max_length"] == 256


def test_egemaps_gives_25_llds_at_100_frames_per_second() -> None:
    encoder = build_encoder("egemaps")
    assert (encoder.dim, encoder.frame_rate, encoder.sample_rate) == (25, 100.0, 16000)
    one, two, tiny = encoder.encode([sine(1.0), sine(2.0), sine(0.01)])
    assert one.shape[1] == 25 and one.dtype == np.float32
    assert two.shape[0] - one.shape[0] == 100  # one more second: exactly 100 more frames
    assert tiny.shape == (1, 25) and np.isfinite(tiny).all()  # too short: one frame, zeros
    assert encoder.forward_calls == 1
    assert encoder.key()["weights"].startswith("opensmile==")


def test_compare_gives_65_llds_and_130_with_deltas() -> None:
    plain, deltas = build_encoder("compare"), build_encoder("compare", deltas=True)
    a, b = plain.encode([sine(0.5)])[0], deltas.encode([sine(0.5)])[0]
    assert a.shape[1] == plain.dim == 65 and b.shape[1] == deltas.dim == 130
    np.testing.assert_allclose(b[:, :65], a[: b.shape[0]], rtol=1e-5, atol=1e-4)
    assert plain.key() != deltas.key()


def test_logmel_frames_and_values_by_hand() -> None:
    encoder = build_encoder("logmel", n_mels=40)
    silent, tone = encoder.encode([np.zeros(16000, np.float32), sine(0.5, hz=1000.0)])
    assert silent.shape == (1 + (16000 - 400) // 160, 40) == (98, 40)
    np.testing.assert_allclose(silent, np.log(1e-6), rtol=1e-6)  # no energy: log(0 + 1e-6)
    filters = mel_filterbank(40, 512, 16000, 0.0, 8000.0)
    assert filters.shape == (40, 257) and filters.max() <= 1.0
    peak_band = int(np.argmax(filters[:, 32]))  # FFT bin 32 = 1000 Hz
    assert int(np.argmax(tone.mean(axis=0))) == peak_band


def test_minilm_token_states_mean_pool_to_the_sentence_transformers_embedding() -> None:
    encoder = build_encoder("minilm")
    assert (encoder.dim, encoder.modality, encoder.frame_rate) == (384, "text", None)
    texts = ["ok", "I can't believe you did that!"]
    tokens = encoder.encode(texts)
    assert tokens[0].shape == (3, 384)  # [CLS] ok [SEP]
    assert encoder.input_length(texts[1]) == tokens[1].shape[0]
    from sentence_transformers import SentenceTransformer

    from merbench.encoders.text import minilm_folder

    st = SentenceTransformer(str(minilm_folder()), device="cpu")
    reference = st.encode(texts, normalize_embeddings=False)  # mean pooling + L2 normalise
    for seq, ref in zip(tokens, reference, strict=True):
        pooled = seq.mean(axis=0)
        pooled = pooled / np.linalg.norm(pooled)
        np.testing.assert_allclose(pooled, ref / np.linalg.norm(ref), atol=1e-4)


@pytest.mark.parametrize("spec", ["egemaps", "minilm"])
def test_batch_of_many_equals_one_at_a_time(spec: str) -> None:
    encoder = build_encoder(spec)
    inputs = (
        [sine(0.4), sine(0.9, 330.0)] if spec == "egemaps" else ["hi there", "a longer one here"]
    )
    batched = encoder.encode(inputs)
    for x, got in zip(inputs, batched, strict=True):
        np.testing.assert_allclose(got, encoder.encode([x])[0], atol=1e-5, rtol=1e-4)

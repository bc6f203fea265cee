"""The feature store: extract once, serve from cache, key by corpus and encoder, real encoders."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from features_helpers import make_corpus

from merbench.encoders import build_encoder
from merbench.features.entry import entry_key
from merbench.features.store import FeatureStore


@pytest.fixture(scope="module")
def minilm():
    return build_encoder("minilm")


def test_second_get_performs_zero_forward_passes(tmp_path: Path, corpus, minilm) -> None:
    store = FeatureStore(tmp_path / "store")
    egemaps = build_encoder("egemaps")
    first_a = store.get(corpus, egemaps)
    calls_text = minilm.forward_calls
    first_t = store.get(corpus, minilm)
    assert egemaps.forward_calls >= 1 and minilm.forward_calls > calls_text

    again_a, again_t = build_encoder("egemaps"), build_encoder("minilm")
    fresh = FeatureStore(tmp_path / "store")
    second_a = fresh.get(corpus, again_a)
    second_t = fresh.get(corpus, again_t)
    assert again_a.forward_calls == 0 and again_t.forward_calls == 0
    assert fresh.stats["extracted"] == 0 and fresh.stats["batches"] == 0
    assert second_a.key == first_a.key and second_t.key == first_t.key
    for utt in corpus.utterances:
        np.testing.assert_array_equal(second_a[utt.id], first_a[utt.id])


def test_feature_set_serves_float16_memmaps_matching_the_encoder(tmp_path: Path, corpus, minilm):
    store = FeatureStore(tmp_path / "store")
    feats = store.get(corpus, minilm)
    assert len(feats) == 6 and feats.dim == 384
    assert feats.ids == tuple(u.id for u in corpus.utterances)
    x = feats["u001"]  # "ok" -> [CLS] ok [SEP]
    assert isinstance(x, np.memmap) and x.dtype == np.float16 and x.shape == (3, 384)
    direct = minilm.encode([corpus["u002"].text])[0]
    np.testing.assert_allclose(feats["u002"].astype(np.float32), direct, atol=2e-3, rtol=2e-3)

    egemaps = build_encoder("egemaps")
    audio = store.get(corpus, egemaps)
    assert audio.dim == 25
    wave = corpus.load_audio(corpus["u003"], 16000)  # 2.0 s
    direct = egemaps.encode([wave])[0]
    assert audio["u003"].shape == direct.shape and 195 <= direct.shape[0] <= 200  # 100 frames/s
    np.testing.assert_allclose(audio["u003"].astype(np.float32), direct, rtol=1e-3, atol=1e-2)


def test_key_is_sha256_of_canonical_corpus_and_encoder_json(tmp_path: Path, corpus) -> None:
    encoder = build_encoder("egemaps")
    payload = {"corpus": corpus.fingerprint(), "encoder": encoder.key()}
    expected = hashlib.sha256(
        json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()
    store = FeatureStore(tmp_path / "store")
    assert entry_key(corpus.fingerprint(), encoder.key()) == expected
    assert store.get(corpus, encoder).key == expected
    assert (tmp_path / "store" / expected / "index.json").is_file()


def test_changed_corpus_or_encoder_config_gives_a_new_entry(tmp_path: Path, minilm) -> None:
    store = FeatureStore(tmp_path / "store")
    corpus = make_corpus(tmp_path / "c1", n=4)
    base = store.get(corpus, minilm)

    edited = dataclasses.replace(corpus.utterances[0], text="something else entirely")
    changed = make_corpus(tmp_path / "c1", n=4)
    changed.utterances[0] = edited
    changed.__post_init__()
    calls = minilm.forward_calls
    other = store.get(changed, minilm)
    assert other.key != base.key and minilm.forward_calls > calls
    assert other["u000"].shape[0] != base["u000"].shape[0]

    truncated = build_encoder("minilm", max_length=4)
    short = store.get(corpus, truncated)
    assert short.key not in (base.key, other.key) and truncated.forward_calls >= 1
    assert short["u000"].shape == (4, 384)
    assert len(store.entries()) == 3


def test_hf_model_by_path_through_the_store_keys_on_its_weights(
    tmp_path: Path, corpus, tiny_wav2vec2
) -> None:
    def save(seed: int) -> Path:  # 2 layers, 32 wide, convolutions kernels (10, 4), strides (5, 4)
        return tiny_wav2vec2(
            tmp_path / "model", conv_dim=(16, 16), conv_kernel=(10, 4), conv_stride=(5, 4),
            seed=seed, feature_extractor={"return_attention_mask": True},
        )  # fmt: skip

    store = FeatureStore(tmp_path / "store", max_batch=4)
    folder = save(seed=0)
    first_encoder = build_encoder(f"hf:{folder}")
    first = store.get(corpus, first_encoder, device="cpu")
    assert first.dim == 32 and first_encoder.forward_calls == 2  # 6 utterances, batches of 4
    # 2.0 s = 32000 samples: (32000 - 10) // 5 + 1 = 6399, (6399 - 4) // 4 + 1 = 1599 frames
    assert first["u003"].shape == (1599, 32)
    wave = corpus.load_audio(corpus["u003"], 16000)
    alone = first_encoder.encode([wave])[0]
    np.testing.assert_allclose(first["u003"].astype(np.float32), alone, atol=2e-3, rtol=2e-3)

    same = build_encoder(f"hf:{folder}")
    assert store.get(corpus, same).key == first.key and same.forward_calls == 0
    save(seed=1)  # new weights in the same folder: a new identity, a new entry
    changed = build_encoder(f"hf:{folder}")
    assert store.get(corpus, changed).key != first.key and changed.forward_calls == 2
    pooled = build_encoder(f"hf:{folder}", pooling="mean")
    assert store.get(corpus, pooled)["u003"].shape == (1, 32)

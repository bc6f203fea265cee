"""Noisy test sets: noise at the stated SNR (computed by hand from the waveforms), seeded per
utterance, babble from the other test utterances, and feature-store keys per condition that
leave the clean corpus's keys alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from features_helpers import make_corpus

from merbench.data.noise import add_noise, babble_noise, pink_noise, utterance_rng
from merbench.data.perturbed import Noise, noisy_test_set
from merbench.encoders import build_encoder
from merbench.errors import UserError
from merbench.features.store import FeatureStore


def snr_by_hand(clean: np.ndarray, noisy: np.ndarray) -> float:
    clean = clean.astype(np.float64)
    residual = noisy.astype(np.float64) - clean
    return float(10 * np.log10(np.sum(clean**2) / np.sum(residual**2)))


@pytest.mark.parametrize("kind", ["white", "pink", "babble"])
@pytest.mark.parametrize("snr", [20.0, 10.0, 0.0, -5.0])
def test_noisy_waveform_has_the_stated_snr(tmp_path: Path, kind: str, snr: float) -> None:
    corpus = make_corpus(tmp_path / "c", n=6)
    test = tuple(u.id for u in corpus.utterances)
    noisy = noisy_test_set(corpus, test, Noise(snr, kind))
    utt = corpus["u002"]
    clean = corpus.load_audio(utt, 16000)
    heard = noisy.load_audio(utt, 16000)
    assert heard.dtype == np.float32 and heard.shape == clean.shape
    assert snr_by_hand(clean, heard) == pytest.approx(snr, abs=1e-3)


def test_noise_is_seeded_per_utterance_not_by_order(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path / "c", n=4)
    ids = tuple(u.id for u in corpus.utterances)
    forward = noisy_test_set(corpus, ids, Noise(10.0, "white"))
    backward = noisy_test_set(corpus, ids[::-1], Noise(10.0, "white"))
    a = forward.load_audio(corpus["u001"], 16000)
    assert np.array_equal(a, backward.load_audio(corpus["u001"], 16000))
    other_seed = noisy_test_set(corpus, ids, Noise(10.0, "white", seed=1))
    assert not np.array_equal(a, other_seed.load_audio(corpus["u001"], 16000))


def test_pink_noise_power_falls_as_one_over_f() -> None:
    n = 2**16
    spectrum = np.abs(np.fft.rfft(pink_noise(n, np.random.default_rng(0)))) ** 2
    low, high = spectrum[100:200].mean(), spectrum[1000:2000].mean()
    assert 8 < low / high < 12.5  # 1/f: ten times the frequency, a tenth of the power


def test_babble_is_the_sum_of_other_talkers_at_unit_power() -> None:
    talkers = {"a": np.array([1.0, -1.0]), "b": np.array([2.0, 2.0, 2.0])}
    noise = babble_noise(5, np.random.default_rng(0), ["a", "b"], talkers.__getitem__)
    # a tiled to [1,-1,1,-1,1] (power 1) plus b cut to [2]*5 scaled to power 1
    assert noise == pytest.approx([2.0, 0.0, 2.0, 0.0, 2.0])
    with pytest.raises(UserError, match="at least one other utterance"):
        babble_noise(5, np.random.default_rng(0), [], talkers.__getitem__)


def test_babble_of_a_test_set_never_uses_the_utterance_itself(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path / "c", n=2)  # u000 a sine, u001 noise: the pool is the other
    noisy = noisy_test_set(corpus, ("u000", "u001"), Noise(0.0, "babble"))
    clean = corpus.load_audio(corpus["u000"], 16000)
    other = corpus.load_audio(corpus["u001"], 16000).astype(np.float64)
    added = noisy.load_audio(corpus["u000"], 16000).astype(np.float64) - clean
    expected = np.tile(other, -(-clean.size // other.size))[: clean.size]
    gain = float(added @ expected / (expected @ expected))
    assert gain > 0
    assert np.allclose(added, gain * expected, atol=1e-6)


def test_silence_gets_no_noise() -> None:
    silent = np.zeros(100, dtype=np.float32)
    out = add_noise(silent, 10.0, "white", utterance_rng(0, "x"))
    assert np.array_equal(out, silent)


def test_feature_keys_differ_per_condition_and_clean_keys_stay(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path / "c", n=6)
    store = FeatureStore(tmp_path / "store")
    encoder = build_encoder("logmel")
    clean_key = store.key(corpus, encoder)
    clean_fingerprint = corpus.fingerprint()
    test = corpus.protocol.splits[0].test
    keys = {
        store.key(noisy_test_set(corpus, test, noise), encoder)
        for noise in (
            Noise(20, "white"),
            Noise(10, "white"),
            Noise(20, "pink"),
            Noise(20, "white", 1),
        )
    }
    assert len(keys) == 4 and clean_key not in keys
    assert store.key(corpus, encoder) == clean_key
    assert corpus.fingerprint() == clean_fingerprint
    # extraction keys the entry by the noisy test set: clean features are another entry
    noisy = noisy_test_set(corpus, test, Noise(0.0, "white"))
    clean_features = store.get(corpus, encoder)
    noisy_features = store.get(noisy, encoder)
    assert list(noisy_features.ids) == list(test)
    assert not np.allclose(clean_features[test[0]], noisy_features[test[0]])
    assert sorted(e.key for e in store.entries()) == sorted([clean_key, store.key(noisy, encoder)])

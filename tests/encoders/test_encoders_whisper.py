"""The ``whisper`` encoder: Whisper tiny.en's encoder frames (CTranslate2, packaged), offline.

Frames cover exactly the utterance (50 per second), long utterances are cut into 30-s pieces, the
frames of ``full`` and ``trimmed`` windows do not depend on the batch, and the identity is the hash
of the model's files, whatever path reaches them.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from merbench.encoders import build_encoder
from merbench.encoders.whisper import (
    kept_frames,
    mel_slot,
    pack,
    piece_lengths,
    window_count,
)
from merbench.errors import UserError

SR = 16_000


def tone(seconds: float, hz: float = 220.0, seed: int = 0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    noise = np.random.default_rng(seed).standard_normal(len(t))
    return (0.3 * np.sin(2 * np.pi * hz * t) + 0.02 * noise).astype(np.float32)


def test_geometry_of_pieces_slots_and_kept_frames() -> None:
    assert piece_lengths(32_000) == [32_000]
    assert piece_lengths(31 * SR) == [480_000, 16_000]
    assert piece_lengths(0) == [1]
    # 2 s: 201 log-mel frames, rounded up to an even slot; 100 encoder frames kept.
    assert mel_slot(32_000) == 202 and kept_frames(32_000) == 100
    assert mel_slot(32_001) == 202 and kept_frames(32_001) == 101
    assert mel_slot(480_000) == 3000 and kept_frames(480_000) == 1500
    assert kept_frames(1) == 1


def test_packing_is_first_fit_in_order_with_even_offsets() -> None:
    assert pack([202, 202, 2000], packing=False) == [(0, 0), (1, 0), (2, 0)]
    # 2000 + 800 + 202 = 3002 > 3000: the last goes after 1202 in the second window
    assert pack([2000, 1202, 800, 202], packing=True) == [(0, 0), (1, 0), (0, 2000), (1, 1202)]
    assert window_count([32_000] * 15, "packed") == 2  # 14 slots of 202 fit in 3000
    assert window_count([32_000] * 15, "full") == 15
    assert window_count([SR * 30] * 2, "trimmed") == 2.0


@pytest.fixture(scope="module")
def full():
    return build_encoder("whisper", window="full")


def test_frames_cover_the_utterance_at_50_per_second(full) -> None:
    waves = [tone(1.0), tone(2.5, 330), tone(0.01, 440)]
    out = full.encode(waves)
    assert [o.shape for o in out] == [(50, 384), (125, 384), (1, 384)]
    assert all(o.dtype == np.float32 and np.isfinite(o).all() for o in out)
    assert full.dim == 384 and full.frame_rate == 50.0 and full.forward_calls == 1


def test_full_and_trimmed_frames_do_not_depend_on_the_batch(full) -> None:
    a, b = tone(1.0), tone(1.5, 330, seed=1)
    trimmed = build_encoder("whisper", window="trimmed")
    for enc in (full, trimmed):
        alone = enc.encode([a])[0]
        together = enc.encode([b, a, b])[1]
        np.testing.assert_allclose(together, alone, atol=1e-4)
    # packing puts `a` after `b` in one window: attention and positions differ
    packed = build_encoder("whisper", window="packed").encode([b, a])[1]
    assert packed.shape == alone.shape
    assert not np.allclose(packed, full.encode([a])[0], atol=1e-2)


def test_an_utterance_over_30_seconds_is_encoded_in_pieces(full) -> None:
    long = tone(31.0)
    out = full.encode([long])[0]
    assert out.shape == (1500 + 50, 384)
    np.testing.assert_allclose(out[1500:], full.encode([long[480_000:]])[0], atol=1e-4)


def test_identity_is_the_model_files_not_their_path(full, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    copy.mkdir()
    for f in ("model.bin", "config.json"):
        (copy / f).symlink_to(full.folder / f)
    other = build_encoder(f"whisper:{copy}", window="full")
    assert other.key() == full.key()
    assert full.key()["config"] == {"model": "", "window": "full", "compute_type": "float32"}
    assert build_encoder("whisper").key()["config"]["window"] == "trimmed"  # the default
    assert build_encoder("whisper").key() != full.key()


def test_a_folder_that_is_not_a_whisper_model_is_one_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"whisper:.*nowhere: no such folder"):
        build_encoder(f"whisper:{tmp_path / 'nowhere'}")
    with pytest.raises(UserError, match=r"is not a CTranslate2 Whisper model \(missing model.bin"):
        build_encoder(f"whisper:{tmp_path}")
    with pytest.raises(UserError, match=r"window"):
        build_encoder("whisper", window="sliding")


def test_cached_in_the_feature_store_like_any_encoder(tmp_path: Path) -> None:
    from merbench.data.testing import write_emodb
    from merbench.features.store import FeatureStore
    from merbench.registry import DATASETS

    root = write_emodb(tmp_path / "c", sentences=("a01",))
    corpus = DATASETS.build("emodb").load(root)
    first = build_encoder("whisper")
    entry = FeatureStore(tmp_path / "store").get(corpus, first)
    assert first.forward_calls >= 1 and entry.dim == 384 and len(entry.ids) == 70
    again = build_encoder("whisper")
    reused = FeatureStore(tmp_path / "store").get(corpus, again)
    assert again.forward_calls == 0 and reused.key == entry.key
    utt = corpus.utterances[0]
    seconds = len(corpus.load_audio(utt, SR)) / SR
    assert reused[utt.id].shape == (int(np.ceil(seconds * 50)), 384)


@pytest.mark.skipif(not os.environ.get("MERBENCH_EMODB"), reason="MERBENCH_EMODB is not set")
def test_trimmed_windows_stay_close_to_full_windows_on_real_speech(full) -> None:
    from merbench.data.audio import read_audio

    wavs = sorted((Path(os.environ["MERBENCH_EMODB"]) / "wav").glob("*.wav"))[::107][:5]
    waves = [read_audio(p, SR) for p in wavs]
    trimmed = build_encoder("whisper").encode(waves)
    for a, b in zip(full.encode(waves), trimmed, strict=True):
        cos = np.sum(a * b, 1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
        assert a.shape == b.shape and float(cos.mean()) > 0.85

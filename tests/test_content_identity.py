"""Content identity: the corpus fingerprint (and so the run keys and the feature store key)
covers the content of the media, cached per file so that a re-check reads nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from guarantee_helpers import write_manifest, write_tone

import merbench.data.fingerprint as fp
from merbench.experiment.plan import DatasetRef, dataset_identity
from merbench.registry import DATASETS


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MERBENCH_CACHE", str(tmp_path / "cache"))


def load(path: Path):
    return DATASETS.build("manifest").load(path)


def test_replacing_audio_by_other_audio_of_the_same_length_changes_the_fingerprint(
    tmp_path: Path,
) -> None:
    path = write_manifest(tmp_path / "corpus")
    before = load(path)
    ref = DatasetRef("manifest", str(path))
    identity = dataset_identity(ref, before)
    wavs = sorted((tmp_path / "corpus" / "wav").glob("*.wav"))
    sizes = [w.stat().st_size for w in wavs]
    for n, wav in enumerate(wavs):
        write_tone(wav, 3000.0 + n)  # other audio, same duration
    assert [w.stat().st_size for w in wavs] == sizes  # name and size alone cannot tell
    after = load(path)
    assert after.fingerprint() != identity["fingerprint"]
    assert dataset_identity(ref, after) != identity  # so new run keys


def test_one_changed_file_changes_it_and_unchanged_content_does_not(tmp_path: Path) -> None:
    path = write_manifest(tmp_path / "corpus")
    first = load(path).fingerprint()
    assert load(path).fingerprint() == first
    wav = sorted((tmp_path / "corpus" / "wav").glob("*.wav"))[5]
    data = bytearray(wav.read_bytes())
    data[-1] ^= 0x01  # one bit of one sample
    wav.write_bytes(bytes(data))
    assert load(path).fingerprint() != first


def test_a_recheck_reads_no_file_content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_manifest(tmp_path / "corpus")
    read: list[Path] = []
    real = fp.file_digest
    monkeypatch.setattr(fp, "file_digest", lambda p: read.append(p) or real(p))
    load(path).fingerprint()
    assert len(read) == 24  # 3 folds x 4 classes x 2: each file hashed once
    load(path).fingerprint()
    assert len(read) == 24  # cached by inode, size and mtime: nothing read again


def test_the_feature_store_key_follows_the_content(tmp_path: Path) -> None:
    from merbench.encoders import build_encoder
    from merbench.features.store import FeatureStore

    path = write_manifest(tmp_path / "corpus")
    store = FeatureStore(tmp_path / "features")
    encoder = build_encoder("logmel")
    before = store.key(load(path), encoder)
    for n, wav in enumerate(sorted((tmp_path / "corpus" / "wav").glob("*.wav"))):
        write_tone(wav, 3000.0 + n)
    assert store.key(load(path), encoder) != before

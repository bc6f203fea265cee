"""The embedded corpus: exact counts, consistency shares, folds, determinism and caching."""

from collections import Counter

import numpy as np
import pytest
import soundfile as sf

from merbench.data.synth import CLASSES, SynthConfig, SynthCorpus, plan
from merbench.registry import DATASETS, build


def small(tmp_path, **kw):
    cfg = SynthConfig(sessions=3, utterances_per_session=16, cache=str(tmp_path), **kw)
    return SynthCorpus(cfg).load()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """The small corpus most tests read (generated once for the module)."""
    return small(tmp_path_factory.mktemp("synth"))


def test_synth_counts_speakers_and_consistency(corpus):
    assert len(corpus) == 48
    # per session 16 = 4 classes x 4; per class: round(4 * .6) = 2 consistent, 1 neutral, 1 other
    per = Counter((u.group, u.label) for u in corpus.utterances)
    assert set(per.values()) == {4} and len(per) == 12
    speakers = Counter(u.speaker for u in corpus.utterances)
    assert speakers == {f"Ses0{s}{g}": 8 for s in (1, 2, 3) for g in "FM"}
    assert all(u.id.startswith(u.speaker + "_") for u in corpus.utterances)
    consistent = Counter(u.label for u in corpus.utterances if u.meta["consistent"])
    assert consistent == {c: 6 for c in ("neutral", "happy", "sad", "angry")}
    for u in corpus.utterances:
        assert u.meta["consistent"] == (u.meta["text_emotion"] == u.label)
    # a neutral voice's inconsistent text is an emotion's text, never neutral
    neutral_texts = Counter(
        u.meta["text_emotion"] for u in corpus.utterances if u.label == "neutral"
    )
    assert neutral_texts["neutral"] == 6


def test_synth_leave_one_session_out_with_next_session_dev(corpus):
    p = corpus.protocol
    assert p.labels == ("neutral", "happy", "sad", "angry")
    assert p.headline_metrics == ("ua", "wa", "avg")
    assert [s.name for s in p.splits] == ["fold1", "fold2", "fold3"]
    expect_dev = {"fold1": "Ses02", "fold2": "Ses03", "fold3": "Ses01"}
    for k, split in enumerate(p.splits, start=1):
        assert {corpus[i].group for i in split.test} == {f"Ses0{k}"}
        assert {corpus[i].group for i in split.dev} == {expect_dev[split.name]}
        assert len(split.train) == len(split.dev) == len(split.test) == 16


def test_synth_audio_is_16k_mono_and_generation_is_deterministic(corpus, tmp_path):
    a = corpus
    b = small(tmp_path / "b")
    assert [(u.id, u.text, u.label) for u in a.utterances] == [
        (u.id, u.text, u.label) for u in b.utterances
    ]
    u = a.utterances[0]
    info = sf.info(str(u.audio))
    assert (info.samplerate, info.channels) == (16000, 1) and info.frames > 8000
    assert u.audio.read_bytes() == b[u.id].audio.read_bytes()
    wave = a.load_audio(u, 16000)
    assert wave.dtype == np.float32 and 0 < np.abs(wave).max() <= 1
    assert a.fingerprint() != small(tmp_path / "c", seed=1).fingerprint()


def test_synth_is_cached_and_not_regenerated(corpus):
    first = corpus
    mtime = first.utterances[0].audio.stat().st_mtime_ns
    again = small(first.root.parent)
    assert again.root == first.root and again.utterances[0].audio.stat().st_mtime_ns == mtime
    assert [p.name for p in first.root.parent.iterdir()] == [first.root.name]  # no temp left


def test_synth_default_size_through_registry():
    loader = build("datasets", "synth")
    assert "synth" in DATASETS and isinstance(loader, SynthCorpus)
    records = plan(loader.config)  # the default corpus's records, without synthesising audio
    assert len(records) == 300
    assert Counter(r["session"] for r in records) == {f"Ses0{s}": 60 for s in range(1, 6)}
    assert Counter(r["label"] for r in records) == {c: 75 for c in CLASSES}
    assert sum(r["consistent"] for r in records) == 5 * 4 * 9  # round(15 * .6) per session/class
    assert len({r["voice"] for r in records}) == 10  # a distinct voice variant per speaker


def test_synth_plan_shares_follow_config():
    records = plan(
        SynthConfig(
            sessions=3, utterances_per_session=40, consistent_share=1.0, neutral_text_share=0.0
        )
    )
    assert all(r["consistent"] for r in records)

"""MELD in its distributed layout: CSV quirks, media lookup (mp4, wav), missing media, errors."""

import numpy as np
import pytest

from merbench.data.meld import MeldConfig, MeldCorpus
from merbench.data.testing import MeldRow, write_meld
from merbench.errors import UserError

ROWS = {
    "train": [
        MeldRow(0, 0, "neutral", 'Oh, "really"? Well, that’s great, isn’t it — café!', "Monica"),
        MeldRow(0, 1, "Joy", "Yes, yes, yes.", "Chandler"),
        MeldRow(1, 0, "anger", "No.\nAbsolutely not!", "Ross"),
    ],
    "dev": [MeldRow(0, 0, "sadness"), MeldRow(0, 1, "fear")],
    "test": [MeldRow(0, 0, "surprise"), MeldRow(2, 3, "disgust")],
}


def load(root, **kw):
    return MeldCorpus(MeldConfig(**kw)).load(root)


def test_meld_reads_official_splits_and_quoted_text(tmp_path):
    write_meld(tmp_path, ROWS)
    corpus = load(tmp_path)
    split = corpus.protocol.split("official")
    assert (len(split.train), len(split.dev), len(split.test)) == (3, 2, 2)
    u = corpus["train_dia0_utt0"]
    assert u.text == 'Oh, "really"? Well, that’s great, isn’t it — café!'
    assert (u.speaker, u.group, u.label) == ("Monica", "train_dia0", "neutral")
    assert corpus["train_dia0_utt1"].label == "joy"  # case-normalised
    assert corpus["train_dia1_utt0"].text == "No.\nAbsolutely not!"
    assert corpus["test_dia2_utt3"].audio.name == "dia2_utt3.mp4"
    assert corpus["test_dia2_utt3"].audio.parent.name == "output_repeated_splits_test"
    assert corpus["train_dia1_utt0"].meta["line"] == 4
    assert corpus.protocol.headline_metrics == ("wa", "wf1", "avg")
    assert corpus.protocol.labels[:2] == ("neutral", "joy")


def test_meld_decodes_aac_mp4_and_prefers_same_stem_wav(tmp_path):
    release = write_meld(tmp_path, ROWS)
    corpus = load(tmp_path)
    wave = corpus.load_audio(corpus["dev_dia0_utt0"], 16000)
    assert wave.dtype == np.float32 and 15000 < len(wave) < 18000  # 1 s (+ aac priming)
    assert 0.2 < np.abs(wave).max() < 0.4  # the 0.3 tone
    from merbench.data.testing import write_wav

    write_wav(release / "dev_splits_complete" / "dia0_utt0.wav")
    assert load(tmp_path)["dev_dia0_utt0"].audio.suffix == ".wav"


def test_meld_missing_media_skipped_with_id_or_fails(tmp_path):
    release = write_meld(tmp_path, ROWS)
    (release / "train_splits" / "dia0_utt1.mp4").unlink()
    corpus = load(tmp_path)
    assert len(corpus) == 6
    assert [s.id for s in corpus.skipped] == ["train_dia0_utt1"]
    assert corpus.skipped[0].reason.startswith("missing media: ")
    with pytest.raises(UserError, match="train_dia0_utt1: missing media"):
        load(tmp_path, on_missing="fail")
    (release / "dev_splits_complete").rename(release / "elsewhere")
    with pytest.raises(UserError, match="dev_splits_complete: missing media folder"):
        load(tmp_path)


def test_meld_csv_errors_name_file_and_line(tmp_path):
    release = write_meld(tmp_path, ROWS)
    path = release / "dev_sent_emo.csv"
    path.write_text(path.read_text(encoding="utf-8").replace("sadness", "bored"), encoding="utf-8")
    with pytest.raises(UserError, match=r"dev_sent_emo.csv:2: unknown emotion 'bored'"):
        load(tmp_path)
    path.write_bytes(path.read_bytes().replace(b"bored", b"sadness").replace(b"fear", b"f\xe9ar"))
    with pytest.raises(UserError, match=r"dev_sent_emo.csv:3: not valid UTF-8"):
        load(tmp_path)
    write_meld(tmp_path, {"dev": ROWS["dev"]}, media=None, columns=("Utterance", "Speaker"))
    with pytest.raises(UserError, match=r"dev_sent_emo.csv:1: missing column\(s\) Emotion"):
        load(tmp_path)


def test_meld_empty_text_skipped_and_duplicates_rejected(tmp_path):
    rows = dict(ROWS, test=[MeldRow(0, 0, "surprise", "  "), MeldRow(2, 3, "disgust")])
    write_meld(tmp_path, rows)
    corpus = load(tmp_path)
    assert [(s.id, s.reason.split(":")[0]) for s in corpus.skipped] == [
        ("test_dia0_utt0", "empty text")
    ]
    rows = dict(ROWS, test=[MeldRow(2, 3, "surprise"), MeldRow(2, 3, "disgust")])
    write_meld(tmp_path, rows, media=None)
    with pytest.raises(UserError, match=r"test_sent_emo.csv:3: duplicate utterance dia2_utt3"):
        load(tmp_path)

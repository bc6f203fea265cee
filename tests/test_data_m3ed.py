"""M3ED in its distributed layout: series splits, main and multi labels, audio pattern, errors."""

import pytest

from merbench.data.m3ed import M3edConfig, M3edCorpus
from merbench.data.testing import write_m3ed
from merbench.errors import UserError

MOVIES = {
    "Anjia": {
        "Anjia_1": [
            ("Anjia_1_1", "A", "Happy", "Happy,Surprise"),
            ("Anjia_1_2", "B", "Neutral", "Neutral"),
        ],
        "Anjia_2": [("Anjia_2_1", "A", "Anger", "Anger,Disgust")],
    },
    "Huanle": {"Huanle_1": [("Huanle_1_1", "A", "Sad", "Sad")]},
    "Qiao": {"Qiao_1": [("Qiao_1_1", "B", "Fear", "Fear,Surprise")]},
    "Orphan": {"Orphan_1": [("Orphan_1_1", "A", "Sad", "Sad")]},
}
SPLITS = {"train": ["Anjia"], "val": ["Huanle"], "test": ["Qiao", "Gone"]}


def load(root, **kw):
    return M3edCorpus(M3edConfig(**kw)).load(root)


def test_m3ed_series_splits_labels_and_speakers(tmp_path):
    write_m3ed(tmp_path, MOVIES, SPLITS)
    corpus = load(tmp_path)
    split = corpus.protocol.split("official")
    assert split.train == ("Anjia_1_1", "Anjia_1_2", "Anjia_2_1")
    assert (split.dev, split.test) == (("Huanle_1_1",), ("Qiao_1_1",))
    u = corpus["Anjia_1_1"]
    assert (u.label, u.labels, u.speaker, u.group) == (
        "Happy",
        ("Happy", "Surprise"),
        "Anjia_Anjia-A",
        "Anjia/Anjia_1",
    )
    assert u.text == "你好，Anjia_1_1"
    assert u.audio.relative_to(tmp_path / "M3ED").as_posix() == "modality_speech/A_Anjia_1_1.wav"
    assert sorted((s.id, s.reason) for s in corpus.skipped) == [
        ("Gone", "listed series not in annotation.json: test"),
        ("Orphan_1_1", "series in no split list: Orphan"),
    ]
    assert corpus.protocol.headline_metrics == ("precision", "recall", "wa", "wf1", "avg")
    assert not corpus.protocol.multilabel


def test_m3ed_multilabel_option_and_audio_pattern(tmp_path):
    pattern = "wavs/{movie}/{utt_id}.wav"
    write_m3ed(tmp_path, MOVIES, SPLITS, pattern=pattern)
    corpus = load(tmp_path, multilabel=True, audio_pattern=pattern)
    assert corpus.protocol.multilabel
    assert corpus.protocol.headline_metrics[0] == "micro_f1"
    assert corpus["Qiao_1_1"].labels == ("Fear", "Surprise")
    assert corpus["Qiao_1_1"].audio == tmp_path / "M3ED/wavs/Qiao/Qiao_1_1.wav"
    corpus = load(tmp_path)  # default pattern: every wav is missing, each reported
    assert len(corpus) == 0 and len([s for s in corpus.skipped if "missing audio" in s.reason]) == 5
    with pytest.raises(UserError, match="audio_pattern: bad pattern"):
        load(tmp_path, audio_pattern="{movie}/{name}.wav")


def test_m3ed_errors(tmp_path):
    release = write_m3ed(tmp_path, MOVIES, SPLITS)
    ann = release / "annotation.json"
    good = ann.read_text(encoding="utf-8")
    ann.write_text(good.replace('"final_main_emo": "Sad"', '"final_main_emo": "Bored"', 1))
    with pytest.raises(UserError, match=r"Huanle/Huanle_1/Huanle_1_1: unknown emotion 'Bored'"):
        load(tmp_path)
    ann.write_text(good[:-30])
    with pytest.raises(UserError, match=r"annotation.json:\d+: malformed JSON"):
        load(tmp_path)
    ann.write_text(good)
    (release / "splitInfo" / "movie_list_val.txt").write_text("Huanle\nAnjia\n")
    with pytest.raises(UserError, match=r"movie_list_val.txt:2: series 'Anjia' is already listed"):
        load(tmp_path)

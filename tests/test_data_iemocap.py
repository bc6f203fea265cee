"""IEMOCAP in its distributed layout: merges, speakers, folds, quirks and errors."""

from collections import Counter

import pytest

from merbench.data.iemocap import IemocapConfig, IemocapCorpus
from merbench.data.testing import IemocapUtt, write_iemocap
from merbench.errors import UserError

# Two utterances of every 4-class label per session plus labels the protocol drops.
UTTS = [
    IemocapUtt(f"Ses0{s}{d}_impro0{k}_{g}{i:03d}", lab, f"Line {s}{k}{i}.")
    for s in range(1, 6)
    for d, k in (("F", 1), ("M", 2))
    for i, (g, lab) in enumerate(
        [
            ("F", "neu"),
            ("M", "hap"),
            ("F", "exc"),
            ("M", "sad"),
            ("F", "ang"),
            ("M", "fru"),
            ("F", "xxx"),
        ]
    )
]


def load(root, **kw):
    return IemocapCorpus(IemocapConfig(**kw)).load(root)


def test_iemocap_merges_excited_into_happy(tmp_path):
    corpus = load(write_iemocap(tmp_path, UTTS))
    assert len(corpus) == 5 * 2 * 5
    assert corpus.protocol.labels == ("neu", "hap", "sad", "ang")
    assert Counter(u.label for u in corpus.utterances) == {
        "neu": 10,
        "hap": 20,
        "sad": 10,
        "ang": 10,
    }
    assert corpus["Ses01F_impro01_F002"].label == "hap"
    assert corpus["Ses01F_impro01_F002"].meta["raw_label"] == "exc"
    assert corpus.excluded == {"fru": 10, "xxx": 10}
    assert corpus.skipped == []


def test_iemocap_speaker_text_audio_and_group(tmp_path):
    corpus = load(write_iemocap(tmp_path, UTTS))
    u = corpus["Ses03M_impro02_F000"]
    assert (u.speaker, u.group, u.text) == ("Ses03F", "Ses03", "Line 320.")
    assert u.audio.name == "Ses03M_impro02_F000.wav" and u.audio.parent.name == "Ses03M_impro02"
    assert corpus["Ses03M_impro02_M001"].speaker == "Ses03M"
    assert abs(u.meta["end"] - u.meta["start"] - 2.0) < 1e-9


def test_iemocap_leave_one_session_out_folds(tmp_path):
    write_iemocap(tmp_path, UTTS)
    corpus = load(tmp_path)  # the parent of IEMOCAP_full_release/ works too
    assert [s.name for s in corpus.protocol.splits] == [f"fold{k}" for k in range(1, 6)]
    for k, split in enumerate(corpus.protocol.splits, start=1):
        assert {corpus[i].group for i in split.test} == {f"Ses0{k}"}
        assert {corpus[i].group for i in split.dev} == {f"Ses0{k % 5 + 1}"}
        assert len(split.train) == 30 and len(split.dev) == len(split.test) == 10
    assert corpus.protocol.headline_metrics == ("ua", "wa", "avg")


def test_iemocap_six_class_option(tmp_path):
    corpus = load(write_iemocap(tmp_path, UTTS), classes="6class")
    assert Counter(u.label for u in corpus.utterances) == {
        "neu": 10,
        "hap": 10,
        "exc": 10,
        "sad": 10,
        "ang": 10,
        "fru": 10,
    }
    assert corpus.excluded == {"xxx": 10}
    assert len(load(tmp_path, classes="6")) == 60  # short for 6class
    with pytest.raises(UserError, match="unknown class set '5class'"):
        load(tmp_path, classes="5class")


def test_iemocap_missing_audio_is_skipped_or_fails(tmp_path):
    release = write_iemocap(tmp_path, UTTS)
    wav = release / "Session2/sentences/wav/Ses02F_impro01/Ses02F_impro01_M003.wav"
    wav.unlink()
    corpus = load(tmp_path)
    assert len(corpus) == 49
    assert [(s.id, s.reason) for s in corpus.skipped] == [
        ("Ses02F_impro01_M003", f"missing audio: {wav}")
    ]
    with pytest.raises(UserError, match="Ses02F_impro01_M003: missing audio"):
        load(tmp_path, on_missing="fail")
    assert len(load(tmp_path, check_media=False)) == 50


def test_iemocap_malformed_lines_name_file_and_line(tmp_path):
    release = write_iemocap(tmp_path, UTTS)
    emo = release / "Session1/dialog/EmoEvaluation/Ses01F_impro01.txt"
    lines = emo.read_text().splitlines()
    lines[2] = lines[2].replace("\t[2.5000", " [2.5000")  # the first utterance header
    emo.write_text("\n".join(lines) + "\n")
    with pytest.raises(UserError, match=r"Ses01F_impro01.txt:3: malformed EmoEvaluation line"):
        load(tmp_path)


def test_iemocap_unknown_label_and_bad_transcript_line(tmp_path):
    release = write_iemocap(tmp_path, UTTS)
    emo = release / "Session4/dialog/EmoEvaluation/Ses04M_impro02.txt"
    emo.write_text(emo.read_text().replace("\tsad\t", "\tbored\t"))
    with pytest.raises(UserError, match=r"Ses04M_impro02.txt:\d+: unknown label 'bored'"):
        load(tmp_path)
    emo.write_text(emo.read_text().replace("\tbored\t", "\tsad\t"))
    trans = release / "Session4/dialog/transcriptions/Ses04M_impro02.txt"
    trans.write_text(trans.read_text().replace("Ses04M_impro02_F002 [", "Ses04M_impro02_F002 ("))
    with pytest.raises(UserError, match=r"Ses04M_impro02.txt:\d+: malformed transcription line"):
        load(tmp_path)


def test_iemocap_empty_text_and_duplicates(tmp_path):
    release = write_iemocap(tmp_path, UTTS)
    trans = release / "Session5/dialog/transcriptions/Ses05F_impro01.txt"
    trans.write_text(trans.read_text().replace(": Line 510.", ":"))
    corpus = load(tmp_path)
    assert [(s.id, s.reason.split(":")[0]) for s in corpus.skipped] == [
        ("Ses05F_impro01_F000", "empty text")
    ]
    emo = release / "Session5/dialog/EmoEvaluation/Ses05F_impro01.txt"
    emo.write_text(emo.read_text().replace("Ses05F_impro01_M001", "Ses05F_impro01_F000"))
    with pytest.raises(UserError, match="duplicate utterance id Ses05F_impro01_F000"):
        load(tmp_path)


def test_iemocap_missing_folders(tmp_path):
    with pytest.raises(UserError, match="no IEMOCAP corpus here"):
        load(tmp_path)
    release = write_iemocap(tmp_path, UTTS)
    (release / "Session3/dialog/EmoEvaluation/Ses03F_impro01.txt").unlink()
    (release / "Session3/dialog/EmoEvaluation/Ses03M_impro02.txt").unlink()
    with pytest.raises(UserError, match="Session3/dialog/EmoEvaluation: no EmoEvaluation"):
        load(tmp_path)

"""`datasets check`: counts, skips and unreadable media of a damaged copy, fatal errors, detection."""

import pytest

from merbench.data.check import check_corpus, detect_corpus, render_check
from merbench.data.testing import IemocapUtt, MeldRow, write_iemocap, write_meld, write_wav
from merbench.errors import UserError

MELD_ROWS = {
    "train": [MeldRow(0, 0, "neutral"), MeldRow(0, 1, "joy"), MeldRow(1, 0, "anger")],
    "dev": [MeldRow(0, 0, "sadness")],
    "test": [MeldRow(0, 0, "surprise"), MeldRow(0, 1, "neutral")],
}


def test_check_reports_exactly_what_is_wrong_with_a_damaged_meld(tmp_path):
    release = write_meld(tmp_path, MELD_ROWS)
    (release / "train_splits/dia0_utt1.mp4").unlink()  # missing
    (release / "test_splits_dummy").mkdir()
    (release / "output_repeated_splits_test/dia0_utt1.mp4").write_bytes(b"\x00garbage" * 10)
    write_wav(release / "dev_splits_complete/dia0_utt0.wav", audio="empty")  # preferred, empty
    report = check_corpus(None, tmp_path)
    assert report.name == "meld" and report.error is None and not report.ok
    assert report.utterances == 5
    assert report.counts["official/train"] == {"neutral": 1, "anger": 1}
    assert report.counts["official/test"] == {"surprise": 1, "neutral": 1}
    assert [s.id for s in report.skipped] == ["train_dia0_utt1"]
    assert sorted(s.id for s in report.unreadable) == ["dev_dia0_utt0", "test_dia0_utt1"]
    assert report.decoded == 3
    assert report.skip_counts() == {"missing media": 1, "unreadable audio": 2}
    text = render_check(report)
    assert "train_dia0_utt1: missing media: " in text
    assert "dia0_utt0.wav: empty audio" in text or "dia0_utt0.wav: unreadable audio" in text
    assert "test_dia0_utt1: " in text and "status: PROBLEMS FOUND" in text


def test_check_lists_iemocap_sessions_and_stops_on_a_malformed_line(tmp_path):
    utts = [
        IemocapUtt(f"Ses0{s}F_impro01_{g}00{i}", lab)
        for s in range(1, 6)
        for i, (g, lab) in enumerate([("F", "neu"), ("M", "exc"), ("F", "fru")])
    ]
    release = write_iemocap(tmp_path, utts)
    report = check_corpus(None, tmp_path)
    assert report.ok and report.name == "iemocap"
    assert report.group_counts == {f"Ses0{s}": {"neu": 1, "hap": 1} for s in range(1, 6)}
    assert report.excluded == {"fru": 5} and report.decoded == 10
    text = render_check(report)
    assert "fold1: train 6, dev 2, test 2" in text and "status: OK" in text
    emo = release / "Session2/dialog/EmoEvaluation/Ses02F_impro01.txt"
    emo.write_text(emo.read_text().replace("\tneu\t", "\tneu "))
    report = check_corpus("iemocap", release, decode=False)
    assert report.error and "Ses02F_impro01.txt:3: malformed EmoEvaluation line" in report.error
    assert "status: FAILED" in render_check(report)


def test_detect_corpus(tmp_path):
    with pytest.raises(UserError, match="cannot tell the corpus type"):
        detect_corpus(tmp_path)
    (tmp_path / "M3ED").mkdir()
    (tmp_path / "M3ED/annotation.json").write_text("{}")
    assert detect_corpus(tmp_path) == "m3ed"
    (tmp_path / "x.csv").write_text("id\n")
    assert detect_corpus(tmp_path / "x.csv") == "manifest"


def test_check_a_generated_synth_folder_uses_its_own_config(tmp_path):
    from merbench.data.synth import SynthConfig, SynthCorpus

    corpus = SynthCorpus(
        SynthConfig(sessions=3, utterances_per_session=8, cache=str(tmp_path))
    ).load()
    report = check_corpus(None, corpus.root)
    assert report.name == "synth" and report.ok and report.utterances == 24
    assert report.decoded == 24 and report.group_counts["Ses02"] == {
        "neutral": 2,
        "happy": 2,
        "sad": 2,
        "angry": 2,
    }
    assert [p.name for p in tmp_path.iterdir()] == [corpus.root.name]  # nothing regenerated

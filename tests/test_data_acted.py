"""The acted corpora read from their distributed file names: RAVDESS, CREMA-D, TESS, EmoDB."""

from __future__ import annotations

from collections import Counter

import pytest

from merbench.data import testing
from merbench.data.check import check_corpus, render_check
from merbench.data.testing import write_wav
from merbench.errors import UserError
from merbench.registry import DATASETS


def load(name, root, **options):
    return DATASETS.build(name, **options).load(root)


def test_ravdess_reads_actor_folders_and_skips_song_files(tmp_path):
    release = testing.write_ravdess(tmp_path)
    write_wav(release / "Actor_01" / "03-02-03-01-01-01-01.wav")  # a song file in the tree
    corpus = load("ravdess", tmp_path)
    assert len(corpus) == 6 * 16
    utt = corpus["03-01-05-01-02-01-13"]
    assert (utt.speaker, utt.label, utt.text) == ("13", "angry", "Dogs are sitting by the door.")
    assert Counter(u.label for u in corpus.utterances)["calm"] == 12
    assert [(s.id, s.reason) for s in corpus.skipped] == [
        ("03-02-03-01-01-01-01", "not speech audio: song")
    ]
    fold1 = corpus.protocol.split("fold1")
    assert {corpus[i].speaker for i in fold1.test} == {"01"}
    assert {corpus[i].speaker for i in fold1.dev} == {"05"}
    assert {corpus[i].speaker for i in fold1.train} == {"09", "13", "17", "21"}
    assert len(corpus.protocol.splits) == 6


def test_cremad_knows_the_sentence_of_each_code(tmp_path):
    testing.write_cremad(tmp_path)
    corpus = load("crema-d", tmp_path)  # the alias of cremad
    assert corpus.name == "cremad" and len(corpus) == 5 * 2 * 6
    utt = corpus["1003_DFA_FEA_XX"]
    assert (utt.speaker, utt.label, utt.text) == ("1003", "fear", "Don't forget a jacket.")
    assert utt.meta["level"] == "XX"
    fold3 = corpus.protocol.split("fold3")
    assert {corpus[i].speaker for i in fold3.test} == {"1003"}
    assert {corpus[i].speaker for i in fold3.dev} == {"1004"}


def test_tess_folds_are_speakers_and_dev_words_are_held_out(tmp_path):
    testing.write_tess(tmp_path)
    corpus = load("tess", tmp_path / "TESS")
    assert len(corpus) == 2 * 7 * 5
    utt = corpus["YAF_bath_ps"]
    assert (utt.speaker, utt.label, utt.text) == ("YAF", "surprised", "Say the word bath.")
    fold1 = corpus.protocol.split("fold1")
    assert {corpus[i].speaker for i in fold1.test} == {"OAF"}
    # words sorted: back bar base bath bean; every fifth (bean) is dev, from the other speaker
    assert {corpus[i].meta["sentence"] for i in fold1.dev} == {"bean"}
    assert {corpus[i].speaker for i in fold1.dev + fold1.train} == {"YAF"}
    assert (len(fold1.train), len(fold1.dev), len(fold1.test)) == (28, 7, 35)


def test_emodb_leaves_one_speaker_out_with_german_text(tmp_path):
    testing.write_emodb(tmp_path)
    corpus = load("emodb", tmp_path)
    assert len(corpus) == 10 * 2 * 7
    utt = corpus["03a01Fa"]
    assert (utt.speaker, utt.label, utt.text) == (
        "03",
        "happy",
        "Der Lappen liegt auf dem Eisschrank.",
    )
    assert corpus["16b01La"].label == "boredom"
    assert [s.name for s in corpus.protocol.splits] == [f"fold{k}" for k in range(1, 11)]
    fold10 = corpus.protocol.split("fold10")
    assert {corpus[i].speaker for i in fold10.test} == {"16"}
    assert {corpus[i].speaker for i in fold10.dev} == {"03"}


@pytest.mark.parametrize(
    ("name", "write", "bad", "message"),
    [
        (
            "ravdess",
            testing.write_ravdess,
            "Audio_Speech_Actors_01-24/Actor_01/03-01-05-01-02-01.wav",
            "RAVDESS MM-VV-EE-II-SS-RR-AA.wav scheme (expected seven two-digit fields",
        ),
        (
            "cremad",
            testing.write_cremad,
            "CREMA-D/AudioWAV/1001_DFA_ANGRY_XX.wav",
            "CREMA-D AAAA_SSS_EEE_LL.wav scheme (expected actor_sentence_emotion_level",
        ),
        (
            "tess",
            testing.write_tess,
            "TESS/OAF_angry/OAF back angry.wav",
            "TESS <OAF|YAF>_<word>_<emotion>.wav scheme (expected speaker_word_emotion",
        ),
        (
            "emodb",
            testing.write_emodb,
            "emodb/wav/03a01Xa.wav",
            "EmoDB SSTTTEV.wav scheme (expected speaker, text code, emotion letter, version",
        ),
    ],
)
def test_a_file_name_that_does_not_parse_is_one_clear_error(tmp_path, name, write, bad, message):
    write(tmp_path)
    write_wav(tmp_path / bad)
    with pytest.raises(UserError) as err:
        load(name, tmp_path)
    assert str(err.value).startswith(f"{tmp_path / bad}: file name does not follow the {message}")
    assert "\n" not in str(err.value)


def test_an_unknown_code_or_speaker_is_named(tmp_path):
    testing.write_cremad(tmp_path, actors=(1001, 1002, 1003, 1004, 1005))
    write_wav(tmp_path / "CREMA-D/AudioWAV/1001_XYZ_ANG_XX.wav")
    with pytest.raises(UserError, match=r"1001_XYZ_ANG_XX.wav: unknown sentence code 'XYZ'"):
        load("cremad", tmp_path)
    (tmp_path / "CREMA-D/AudioWAV/1001_XYZ_ANG_XX.wav").unlink()
    write_wav(tmp_path / "CREMA-D/AudioWAV/1092_DFA_ANG_XX.wav")
    with pytest.raises(UserError, match=r"speaker 1092 is in no fold of datasets/cremad.toml"):
        load("cremad", tmp_path)


def test_a_partial_corpus_needs_speaker_folds(tmp_path):
    testing.write_ravdess(tmp_path, actors=(1, 2, 3))
    with pytest.raises(UserError, match=r"ravdess: fold2 \(speakers 05, 06, 07, 08\) has no"):
        load("ravdess", tmp_path)
    corpus = load("ravdess", tmp_path, folds="speaker")
    assert [s.name for s in corpus.protocol.splits] == ["fold1", "fold2", "fold3"]
    assert {corpus[i].speaker for i in corpus.protocol.split("fold2").test} == {"02"}


def test_a_folder_of_other_files_says_which_corpus_was_expected(tmp_path):
    with pytest.raises(UserError, match=r"no RAVDESS corpus here \(expected Actor_01"):
        load("ravdess", tmp_path)
    with pytest.raises(UserError, match=r"no TESS corpus here"):
        load("tess", tmp_path)


@pytest.mark.parametrize(
    ("write", "name", "speakers", "per_speaker"),
    [
        (testing.write_ravdess, "ravdess", 6, 16),
        (testing.write_cremad, "cremad", 5, 12),
        (testing.write_tess, "tess", 2, 35),
        (testing.write_emodb, "emodb", 10, 14),
    ],
)
def test_datasets_check_detects_the_layout_and_counts_per_speaker(
    tmp_path, write, name, speakers, per_speaker
):
    write(tmp_path)
    report = check_corpus(None, tmp_path, decode=True)
    assert report.name == name and not (report.error or report.skipped or report.unreadable)
    assert report.utterances == speakers * per_speaker == report.decoded
    assert len(report.group_counts) == speakers
    assert {sum(c.values()) for c in report.group_counts.values()} == {per_speaker}
    text = render_check(report)
    assert "per group (session, or speaker for the acted corpora):" in text
    # a small tree is far short of the release: a problem, with the count
    here = speakers * per_speaker
    assert f"short of the release: {here} of the release's " in text
    assert text.endswith("status: PROBLEMS FOUND (listed above)")

"""The acted corpora as released: expected counts, a shortfall reported by speaker and class,
TESS's misnamed file, entries that are not readable audio, flac copies, and the real EmoDB."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from merbench.data import testing
from merbench.data.audio import read_audio
from merbench.data.check import check_corpus, render_check
from merbench.errors import UserError
from merbench.registry import DATASETS


def load(name, root, **options):
    return DATASETS.build(name, **options).load(root)


def test_a_complete_ravdess_checks_ok_and_a_short_copy_names_who_lacks_what(tmp_path):
    release = testing.write_ravdess(tmp_path, audio="empty", complete=True)
    report = check_corpus("ravdess", tmp_path, decode=False)
    assert report.ok and report.utterances == 1440 and report.shortfall == []
    gone = [
        f"03-01-05-02-{statement}-{rep}-03.wav"
        for statement in ("01", "02")
        for rep in ("01", "02")
    ] + ["03-01-04-01-01-01-03.wav", "03-01-04-01-01-02-03.wav"]
    for name in gone:  # 4 strong angry and 2 sad files of actor 03
        (release / "Actor_03" / name).unlink()
    report = check_corpus("ravdess", tmp_path, decode=False)
    assert report.shortfall == [
        "1434 of the release's 1440 files are here (6 missing)",
        "speaker 03: 54 of 60 files (6 missing)",
        "class sad: 190 of 192 files (2 missing)",
        "class angry: 188 of 192 files (4 missing)",
    ]
    assert not report.ok and report.error is None
    text = render_check(report)
    assert "short of the release: 1434 of the release's 1440 files are here (6 missing)" in text
    assert text.endswith("status: PROBLEMS FOUND (listed above)")


def test_speakers_with_no_file_are_one_line(tmp_path):
    testing.write_ravdess(tmp_path, actors=(1, 2, 3), audio="empty")
    corpus = load("ravdess", tmp_path, folds="speaker")
    assert corpus.shortfall[0] == "48 of the release's 1440 files are here (1392 missing)"
    assert corpus.shortfall[1:4] == [
        "speaker 01: 16 of 60 files (44 missing)",
        "speaker 02: 16 of 60 files (44 missing)",
        "speaker 03: 16 of 60 files (44 missing)",
    ]
    others = ", ".join(f"{a:02d}" for a in range(4, 25))
    assert corpus.shortfall[4] == f"speakers {others}: none of the 1260 files (1260 missing)"
    assert corpus.shortfall[5] == "class neutral: 6 of 96 files (90 missing)"


@pytest.mark.parametrize(
    ("name", "write", "here", "expected"),
    [
        ("cremad", testing.write_cremad, 60, 7442),
        ("tess", testing.write_tess, 70, 2800),
        ("emodb", testing.write_emodb, 140, 535),
    ],
)
def test_each_card_carries_its_release_counts(tmp_path, name, write, here, expected):
    write(tmp_path, audio="empty")
    corpus = load(name, tmp_path)
    assert corpus.shortfall[0] == (
        f"{here} of the release's {expected} files are here ({expected - here} missing)"
    )


def test_tess_reads_its_misnamed_file_with_a_note(tmp_path):
    testing.write_tess(tmp_path, words=("back", "bar", "base", "bath", "bite"))
    assert (tmp_path / "TESS/OAF_neutral/OA_bite_neutral.wav").is_file()
    corpus = load("tess", tmp_path / "TESS")
    utt = corpus["OAF_bite_neutral"]
    assert (utt.speaker, utt.label, utt.text) == ("OAF", "neutral", "Say the word bite.")
    assert utt.audio.name == "OA_bite_neutral.wav" and len(corpus) == 2 * 7 * 5
    note = "OAF_neutral/OA_bite_neutral.wav: read as OAF_bite_neutral (a file the TESS release "
    assert corpus.notes == [note + "misnames)"]
    assert f"note: {note}" in render_check(check_corpus("tess", tmp_path / "TESS", decode=False))


def test_another_misnamed_tess_file_is_still_an_error(tmp_path):
    testing.write_tess(tmp_path, words=("back",))
    testing.write_wav(tmp_path / "TESS/YAF_neutral/YA_bite_neutral.wav")
    with pytest.raises(UserError, match=r"YA_bite_neutral.wav: file name does not follow"):
        load("tess", tmp_path / "TESS")


#: One file of each scheme's small tree: (corpus, writer, path under tmp, utterance id).
ONE_FILE = {
    "ravdess": (testing.write_ravdess, "Audio_Speech_Actors_01-24/Actor_05/03-01-04-01-02-01-05"),
    "cremad": (testing.write_cremad, "CREMA-D/AudioWAV/1002_IEO_SAD_XX"),
    "tess": (testing.write_tess, "TESS/YAF_sad/YAF_bar_sad"),
    "emodb": (testing.write_emodb, "emodb/wav/09b01Ta"),
}
PROBLEMS = {
    "directory": "a directory, not an audio file",
    "broken-link": "a broken symbolic link (to gone.wav)",
    "link-loop": "a symbolic link loop",
    "other-format": "a .mp3 file, not a format merbench reads (wav, flac, ogg, aiff, aif)",
}


@pytest.mark.parametrize("kind", sorted(PROBLEMS))
@pytest.mark.parametrize("name", sorted(ONE_FILE))
def test_an_entry_that_is_not_readable_audio_is_reported_as_missing(tmp_path, name, kind):
    write, rel = ONE_FILE[name]
    write(tmp_path, audio="empty")
    entry = testing.replace_entry(tmp_path / f"{rel}.wav", kind)
    corpus = load(name, tmp_path)
    utt_id = Path(rel).name
    assert [(s.id, s.reason) for s in corpus.skipped] == [
        (utt_id, f"missing audio: {entry} is {PROBLEMS[kind]}")
    ]
    assert utt_id not in {u.id for u in corpus.utterances}
    report = check_corpus(name, tmp_path, decode=False)
    assert not report.ok and report.skip_counts()["missing audio"] == 1


@pytest.mark.parametrize("name", sorted(ONE_FILE))
def test_a_flac_copy_is_read_like_the_wav(tmp_path, name):
    write, rel = ONE_FILE[name]
    write(tmp_path)
    entry = testing.replace_entry(tmp_path / f"{rel}.wav", "flac")
    corpus = load(name, tmp_path)
    utt = corpus[Path(rel).name]
    assert utt.audio == entry and corpus.skipped == []
    wave = read_audio(utt.audio, 16000)
    assert wave.shape == (8000,) and abs(float(abs(wave).max()) - 0.3) < 0.01


def test_the_real_emodb_checks_as_complete():
    root = os.environ.get("MERBENCH_EMODB")
    if not root:
        pytest.skip("MERBENCH_EMODB is not set (the path of the EmoDB release)")
    report = check_corpus("emodb", root)
    assert report.ok, render_check(report)
    assert report.utterances == report.decoded == 535 and report.shortfall == []


def test_the_decoding_benchmark_quick_form_gives_its_rows():
    import sys

    bench = Path(__file__).resolve().parent.parent / "benchmarks"
    sys.path.insert(0, str(bench))
    import acted_decoding
    import benchrows

    rows = acted_decoding.run(quick=True)
    assert [r["measure"] for r in rows] == [
        "ravdess (48000 Hz) decode",
        "tess (24414 Hz) decode",
        "emodb (16000 Hz) decode",
        "cremad (16000 Hz) decode",
        "TESS / RAVDESS per hour",
        "TESS / RAVDESS, polyphase filter only",
    ]
    assert all(tuple(r) == benchrows.KEYS and r["value"] > 0 for r in rows)


def test_a_run_notes_the_shortfall_the_misnamed_file_and_the_broken_entry(
    tmp_path, cli_env, merbench
):
    release = testing.write_tess(tmp_path, words=("back", "bar", "base", "bath", "bite"))
    link = testing.replace_entry(release / "YAF_sad" / "YAF_bar_sad.wav", "broken-link")
    out = merbench(cli_env, "run", "--dataset", "tess", "--data-root", str(release), "--dry-run")
    assert out.returncode == 0, out.stderr
    notes = [line for line in out.stderr.splitlines() if line.startswith("note: tess: ")]
    assert notes == [
        f"note: tess: 1 utterances skipped (first: YAF_bar_sad: missing audio: {link} is a "
        "broken symbolic link (to gone.wav)); see `merbench datasets check`",
        "note: tess: OAF_neutral/OA_bite_neutral.wav: read as OAF_bite_neutral (a file the TESS "
        "release misnames)",
        "note: tess: short of the release: 70 of the release's 2800 files are here (2730 missing); "
        "speaker OAF: 35 of 1400 files (1365 missing); speaker YAF: 35 of 1400 files (1365 "
        "missing); class neutral: 10 of 400 files (390 missing); class happy: 10 of 400 files "
        "(390 missing); class sad: 10 of 400 files (390 missing); class angry: 10 of 400 files "
        "(390 missing); class fear: 10 of 400 files (390 missing); class disgust: 10 of 400 files "
        "(390 missing); class surprised: 10 of 400 files (390 missing)",
    ]

"""Audio decoding: wav and mp4 to float32 mono at the requested rate; bad files are UserErrors."""

import math

import numpy as np
import pytest
import soundfile as sf

from merbench.data.audio import read_audio, resample
from merbench.data.check import check_corpus
from merbench.data.testing import tone, write_emodb, write_mp4, write_wav
from merbench.encoders import build_encoder
from merbench.errors import UserError
from merbench.features.inputs import read_inputs
from merbench.registry import DATASETS


def test_wav_stereo_44k_becomes_mono_16k(tmp_path):
    t = np.arange(44100) / 44100
    left = 0.5 * np.sin(2 * np.pi * 100 * t)
    sf.write(str(tmp_path / "s.wav"), np.stack([left, np.zeros_like(left)], axis=1), 44100)
    wave = read_audio(tmp_path / "s.wav", 16000)
    assert wave.dtype == np.float32 and wave.shape == (16000,)
    assert abs(np.abs(wave[1000:-1000]).max() - 0.25) < 0.01  # mean of the two channels


def test_mp4_aac_is_decoded(tmp_path):
    write_mp4(tmp_path / "a.mp4", seconds=1.0)
    wave = read_audio(tmp_path / "a.mp4", 8000)
    assert wave.dtype == np.float32 and 7900 <= len(wave) <= 8400


def test_missing_empty_and_garbage_files_name_the_file(tmp_path):
    with pytest.raises(UserError, match=r"nope.wav: audio file not found"):
        read_audio(tmp_path / "nope.wav", 16000)
    (tmp_path / "e.wav").touch()
    with pytest.raises(UserError, match=r"e.wav: unreadable audio"):
        read_audio(tmp_path / "e.wav", 16000)
    sf.write(str(tmp_path / "z.wav"), np.zeros(0), 16000)
    with pytest.raises(UserError, match=r"z.wav: empty audio \(0 samples\)"):
        read_audio(tmp_path / "z.wav", 16000)
    (tmp_path / "g.mp4").write_bytes(b"not an mp4 at all" * 20)
    with pytest.raises(UserError, match=r"g.mp4: unreadable audio"):
        read_audio(tmp_path / "g.mp4", 16000)


@pytest.mark.parametrize(
    ("audio", "problem"),
    [
        ("nan", r"unreadable audio \(8000 of 8000 samples are NaN or infinite\)"),
        ("silent", r"unreadable audio \(silent: all 8000 samples are zero\)"),
    ],
)
def test_all_nan_or_all_zero_samples_are_unreadable(tmp_path, audio, problem):
    write_wav(tmp_path / "x.wav", audio)
    assert sf.info(str(tmp_path / "x.wav")).frames == 8000  # the file itself decodes
    with pytest.raises(UserError, match=rf"x.wav: {problem}"):
        read_audio(tmp_path / "x.wav", 16000)


def test_a_single_nan_sample_is_unreadable_too(tmp_path):
    wave = tone()
    wave[100] = np.nan
    sf.write(str(tmp_path / "x.wav"), wave, 16000, subtype="FLOAT")
    with pytest.raises(UserError, match=r"1 of 8000 samples are NaN or infinite"):
        read_audio(tmp_path / "x.wav", 16000)


def test_check_and_extraction_report_nan_and_silent_audio_as_unreadable(tmp_path):
    release = write_emodb(tmp_path, speakers=("03", "08", "09", "10", "11", "12", "13", "14",
                                               "15", "16"), sentences=("a01",))  # fmt: skip
    write_wav(release / "wav" / "08a01Wa.wav", "nan")
    write_wav(release / "wav" / "09a01La.wav", "silent")
    report = check_corpus("emodb", tmp_path)
    assert [(s.id, s.reason.split(": ", 1)[1]) for s in report.unreadable] == [
        ("08a01Wa", "unreadable audio (8000 of 8000 samples are NaN or infinite)"),
        ("09a01La", "unreadable audio (silent: all 8000 samples are zero)"),
    ]
    assert report.decoded == 68 and not report.ok
    corpus = DATASETS.build("emodb").load(tmp_path)
    unreadable: dict[str, str] = {}
    kept, _ = read_inputs(corpus, corpus.utterances, build_encoder("logmel"), unreadable)
    assert sorted(unreadable) == ["08a01Wa", "09a01La"] and len(kept) == 68


def test_24414_hz_is_resampled_in_tune_and_to_the_exact_length():
    rate = 24414  # TESS
    t = np.arange(2 * rate) / rate
    wave = (0.3 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    out = resample(wave, rate, 16000)
    assert out.dtype == np.float32 and out.shape == (math.ceil(2 * rate * 16000 / rate),)
    expected = 0.3 * np.sin(2 * np.pi * 1000 * np.arange(len(out)) / 16000)
    assert np.abs(out - expected)[1000:-1000].max() < 1e-3  # a 1 kHz tone stays 1 kHz


def test_rates_with_small_factors_keep_the_polyphase_filter():
    from scipy.signal import resample_poly

    wave = tone(0.5, 48000)
    assert np.array_equal(resample(wave, 48000, 16000), resample_poly(wave, 1, 3).astype("f4"))

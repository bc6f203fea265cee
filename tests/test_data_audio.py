"""Audio decoding: wav and mp4 to float32 mono at the requested rate; bad files are UserErrors."""

import numpy as np
import pytest
import soundfile as sf

from merbench.data.audio import read_audio
from merbench.data.testing import write_mp4
from merbench.errors import UserError


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

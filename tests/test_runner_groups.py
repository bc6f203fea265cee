"""The runner logs with each prediction what the report groups results by: the speaker, the
gender where the corpus records it (synth does), and the audio duration in seconds."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from merbench.data.synth import SynthConfig, SynthCorpus
from merbench.experiment.runner import audio_seconds, with_groups


def test_predictions_carry_speaker_gender_and_seconds(tmp_path: Path) -> None:
    corpus = SynthCorpus(
        SynthConfig(sessions=3, utterances_per_session=8, cache=str(tmp_path))
    ).load()
    test = corpus.protocol.splits[0].test
    frame = pd.DataFrame({"id": list(test), "label": [corpus[i].label for i in test]})
    frame["prediction"] = frame["label"]
    out = with_groups(frame, corpus)
    assert list(out.columns) == ["id", "label", "prediction", "speaker", "gender", "seconds"]
    first = corpus[test[0]]
    assert out["speaker"].iloc[0] == first.speaker == f"{first.group}{out['gender'].iloc[0]}"
    assert sorted(set(out["gender"])) == ["F", "M"]
    samples = len(corpus.load_audio(first, 16000))
    assert abs(out["seconds"].iloc[0] - samples / 16000) < 1e-3
    assert math.isnan(audio_seconds(None)) and math.isnan(audio_seconds(tmp_path / "none.wav"))

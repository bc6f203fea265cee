"""The runner logs with each prediction what the report groups results by: the speaker, the
gender where the corpus records it (synth, IEMOCAP, EmoDB and RAVDESS do), and the audio duration
in seconds."""

from __future__ import annotations

import math
import os
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

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


def test_acted_corpora_and_iemocap_record_the_speakers_gender(tmp_path: Path) -> None:
    from test_data_iemocap import UTTS

    from merbench.data import testing
    from merbench.data.iemocap import IemocapConfig, IemocapCorpus
    from merbench.registry import DATASETS

    emodb = DATASETS.build("emodb").load(testing.write_emodb(tmp_path / "e").parent)
    assert emodb["03a01Fa"].meta["gender"] == "M" and emodb["16b01La"].meta["gender"] == "F"
    assert Counter(u.meta["gender"] for u in emodb.utterances) == {"M": 70, "F": 70}
    testing.write_ravdess(tmp_path / "r", actors=(1, 2))
    ravdess = DATASETS.build("ravdess", folds="speaker").load(tmp_path / "r")
    assert {(u.speaker, u.meta["gender"]) for u in ravdess.utterances} == {("01", "M"), ("02", "F")}
    iemocap = IemocapCorpus(IemocapConfig()).load(testing.write_iemocap(tmp_path / "i", UTTS))
    # the speaker is the session and the gender letter before the final digits
    assert {u.meta["gender"] for u in iemocap.utterances} == {"F", "M"}
    assert all(u.speaker == f"{u.group}{u.meta['gender']}" for u in iemocap.utterances)


@pytest.mark.skipif(not os.environ.get("MERBENCH_EMODB"), reason="MERBENCH_EMODB not set")
def test_emodb_genders_match_its_documented_counts() -> None:
    from merbench.registry import DATASETS

    corpus = DATASETS.build("emodb").load(Path(os.environ["MERBENCH_EMODB"]))
    # 535 utterances: 302 by the five female speakers, 233 by the five male ones
    assert Counter(u.meta["gender"] for u in corpus.utterances) == {"F": 302, "M": 233}

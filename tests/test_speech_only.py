"""Speech-only corpora: a manifest without text trains audio-only recipes and refuses text ones."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from merbench.data.manifest import ManifestConfig, ManifestCorpus
from merbench.data.testing import write_wav
from merbench.errors import UserError
from merbench.experiment.modalities import check_modalities, needed_encoders, reads
from merbench.experiment.recipes import configurations

LABELS = ("neutral", "happy", "sad", "angry")


def write_manifest(folder: Path, rows: list[tuple]) -> Path:
    """A fold manifest at ``folder/manifest.csv`` (wavs written for the rows that name one)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "manifest.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(("id", "audio", "text", "label", "speaker", "fold"))
        writer.writerows(rows)
    for row in rows:
        if row[1]:
            write_wav(folder / row[1])
    return path


def speech_only_rows(n: int = 24) -> list[tuple]:
    return [(f"u{i:02d}", f"wav/u{i:02d}.wav", "", LABELS[i % 4], f"s{i % 6}", str(i % 3 + 1))
            for i in range(n)]  # fmt: skip


def test_a_manifest_without_text_is_a_speech_only_corpus(tmp_path):
    path = write_manifest(tmp_path, speech_only_rows())
    corpus = ManifestCorpus(ManifestConfig(path=str(path))).load(None)
    assert len(corpus) == 24 and not corpus.skipped
    assert {u.text for u in corpus.utterances} == {""}
    assert [s.name for s in corpus.protocol.splits] == ["fold1", "fold2", "fold3"]


def test_rows_without_text_beside_rows_with_text_are_skipped_and_counted(tmp_path):
    rows = [(*r[:2], "Hello." if i < 3 else "", *r[3:]) for i, r in enumerate(speech_only_rows(8))]
    path = write_manifest(tmp_path, rows)
    corpus = ManifestCorpus(ManifestConfig(path=str(path))).load(None)
    assert [u.id for u in corpus.utterances] == ["u00", "u01", "u02"]
    assert [s.reason.split(":")[0] for s in corpus.skipped] == ["empty text"] * 5


def test_a_manifest_whose_rows_were_all_dropped_says_why_with_counts(tmp_path):
    rows = [(*r[:1], "" if i < 2 else r[1], *r[2:]) for i, r in enumerate(speech_only_rows(5))]
    path = write_manifest(tmp_path, rows)
    for i in (2, 3, 4):
        (tmp_path / f"wav/u{i:02d}.wav").unlink()
    with pytest.raises(UserError) as err:
        ManifestCorpus(ManifestConfig(path=str(path))).load(None)
    assert str(err.value) == (
        f"{path}: all 5 records were dropped (missing audio 5); nothing left to use"
    )
    rows = speech_only_rows(4)
    rows[0] = (*rows[0][:2], "Only this one has text.", *rows[0][3:])
    path = write_manifest(tmp_path / "mixed", rows)
    (tmp_path / "mixed/wav/u00.wav").unlink()
    with pytest.raises(
        UserError, match=r"all 4 records were dropped \(empty text 3, missing audio 1\)"
    ):
        ManifestCorpus(ManifestConfig(path=str(path))).load(None)


def test_modalities_come_from_the_model_plugins():
    def conf(recipe, **overrides):
        return configurations(recipe=recipe, overrides=overrides)[0].config

    assert reads(conf("audio-only")) == {"audio"}
    assert reads(conf("text-only")) == {"text"}
    assert reads(conf("concat")) == {"audio", "text"}
    assert reads(conf("audio-only", **{"augmentation.name": "pcmi"})) == {"audio", "text"}
    assert reads(conf("audio-only", **{"model_options.ed": True})) == {"audio", "text"}
    assert reads(conf("fdrl")) == {"audio", "text"}


def test_plan_refuses_text_recipes_and_extracts_no_text_on_speech_only(tmp_path):
    path = write_manifest(tmp_path, speech_only_rows())
    corpus = ManifestCorpus(ManifestConfig(path=str(path))).load(None)
    audio_only = configurations(recipe="audio-only")
    assert needed_encoders(audio_only, corpus) == {("audio", "egemaps")}
    check_modalities(audio_only, corpus, "manifest")  # no error
    with pytest.raises(UserError) as err:
        check_modalities(configurations(recipe="concat"), corpus, "manifest")
    assert str(err.value) == (
        f"manifest ({tmp_path}) has no text (a speech-only corpus) and recipe concat reads text: "
        "give it a text source (--dataset-option text=asr) or run an audio-only recipe "
        "(--baseline audio-only)"
    )


def merbench(tmp: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "MERBENCH_CACHE": str(tmp / "cache"), "HF_HUB_OFFLINE": "1",
           "MERBENCH_RESULTS": str(tmp / "results"), "MLFLOW_DISABLE_TELEMETRY": "true"}  # fmt: skip
    env.pop("MLFLOW_TRACKING_URI", None)
    return subprocess.run(
        [sys.executable, "-m", "merbench.cli", *args],
        env=env, cwd=tmp, capture_output=True, text=True, timeout=900,
    )  # fmt: skip


@pytest.mark.slow
def test_cli_trains_audio_only_on_a_speech_only_manifest_and_refuses_concat(tmp_path):
    path = write_manifest(tmp_path / "corpus", speech_only_rows())
    data = ["--dataset", "manifest", "--dataset-option", f"path={path}"]
    quick = ["--set", "train.max_epochs=2", "--set", "train.patience=1"]
    ran = merbench(tmp_path, "run", "--baseline", "audio-only", *data, *quick)
    assert ran.returncode == 0, ran.stderr
    assert "3 runs (1 configuration(s) x 3 split-seed units) on manifest" in ran.stdout
    assert all(f"audio-only fold{k} seed 0: ua " in ran.stdout for k in (1, 2, 3))
    refused = merbench(tmp_path, "run", "--baseline", "concat", *data, *quick)
    assert refused.returncode == 2
    assert refused.stderr.strip() == (
        f"error: manifest ({path.parent}) has no text (a speech-only corpus) and recipe concat "
        "reads text: give it a text source (--dataset-option text=asr) or run an audio-only "
        "recipe (--baseline audio-only)"
    )
    assert not list((tmp_path / "cache" / "features").glob("*/meta.json"))[1:]  # audio only

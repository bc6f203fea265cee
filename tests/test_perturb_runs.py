"""``--perturb`` end to end on the embedded corpus: the model trained once, evaluated from its
stored weights under each condition; a cell recomputed from the logged predictions; noisy
features keyed apart from the clean ones; a condition added later evaluated without training."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

#: the corpus the `warm_cli_env` cache holds features of (`conftest.SMALL_SYNTH`)
SMALL_SYNTH = "utterances_per_session=8"
RUN = ["run", "--baseline", "concat", "--dataset", "synth", "--dataset-option", SMALL_SYNTH,
       "--split", "fold1", "--split", "fold2", "--device", "cpu"]  # fmt: skip


def store_runs(env: dict[str, str]) -> tuple:
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{Path(env['MERBENCH_RESULTS']) / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("merbench")
    return client, client.search_runs([experiment.experiment_id])


def artifact(client, run_id: str, path: str) -> pd.DataFrame:
    with tempfile.TemporaryDirectory() as tmp:
        return pd.read_parquet(client.download_artifacts(run_id, path, tmp))


def ua(frame: pd.DataFrame) -> float:
    """Mean per-class recall, by hand."""
    right = frame["prediction"] == frame["label"]
    return float(np.mean([right[frame["label"] == c].mean() for c in sorted(set(frame["label"]))]))


def entries(env: dict[str, str]) -> set[str]:
    folder = Path(env["MERBENCH_CACHE"]) / "features"
    return {p.name for p in folder.iterdir() if (p / "meta.json").is_file()}


@pytest.fixture(scope="module")
def evaluated(warm_cli_env: dict[str, str], merbench) -> tuple[dict[str, str], str, set[str]]:
    clean_entries = entries(warm_cli_env)
    out = merbench(warm_cli_env, *RUN, "--perturb", "snr=0,200", "--perturb", "drop=audio")
    assert out.returncode == 0, out.stderr
    return warm_cli_env, out.stdout, clean_entries


def test_each_run_is_trained_once_and_evaluated_under_each_condition(evaluated) -> None:
    env, stdout, _ = evaluated
    assert "evaluating 2 runs under snr=0:white, snr=200:white, drop=audio" in stdout
    assert "| drop=audio | concat |" in stdout
    client, runs = store_runs(env)
    assert len(runs) == 2 and {r.info.status for r in runs} == {"FINISHED"}
    for run in runs:
        assert (
            run.data.tags["merbench.conditions"] == '["drop-audio", "snr0-white", "snr200-white"]'
        )
        assert run.data.tags["merbench.absent_modality"] == "composed: zeros"
        assert {"cond/snr0-white/test/ua", "cond/drop-audio/test/ua"} <= set(run.data.metrics)


def test_stored_weights_reproduce_the_clean_predictions(evaluated) -> None:
    env, _, _ = evaluated
    client, runs = store_runs(env)
    for run in runs:  # noise 200 dB below the speech changes no feature the model sees
        clean = artifact(client, run.info.run_id, "predictions.parquet")
        near = artifact(client, run.info.run_id, "conditions/snr200-white/predictions.parquet")
        assert list(near["id"]) == list(clean["id"])
        assert list(near["prediction"]) == list(clean["prediction"])


def test_a_table_cell_is_recomputed_from_the_logged_predictions(evaluated, merbench) -> None:
    env, _, _ = evaluated
    out = merbench(env, "table", "--perturb", "snr=0", "--perturb", "drop=audio", "--format", "csv")
    assert out.returncode == 0, out.stderr
    table = pd.read_csv(io.StringIO(out.stdout)).set_index("condition")
    client, runs = store_runs(env)
    by_hand = {
        slug: np.mean([ua(artifact(client, r.info.run_id, f"conditions/{slug}/predictions.parquet"))
                       for r in runs])
        for slug in ("snr0-white", "drop-audio")
    }  # fmt: skip
    clean = np.mean([r.data.metrics["test/ua"] for r in runs])
    assert table.loc["snr=0:white", "mean"] == pytest.approx(by_hand["snr0-white"])
    assert table.loc["drop=audio", "mean"] == pytest.approx(by_hand["drop-audio"])
    assert table.loc["drop=audio", "diff"] == pytest.approx(by_hand["drop-audio"] - clean)
    assert table.loc["drop=audio", "runs"] == 2


def test_noisy_features_are_new_entries_beside_the_clean_ones(evaluated) -> None:
    env, _, clean_entries = evaluated
    now = entries(env)
    assert clean_entries <= now  # the clean entries are used as they are
    assert len(now - clean_entries) == 4  # 2 SNRs x 2 test sets (fold1, fold2), audio only


def test_a_condition_added_later_is_evaluated_without_training(evaluated, merbench) -> None:
    env, _, _ = evaluated
    out = merbench(env, *RUN, "--perturb", "drop=audio", "--perturb", "snr=10:pink", "--no-table")
    assert out.returncode == 0, out.stderr
    assert "2 already finished, 0 to run" in out.stdout
    assert "evaluating 2 runs under drop=audio, snr=10:pink" in out.stdout
    client, runs = store_runs(env)
    assert len(runs) == 2
    for run in runs:
        tag = run.data.tags["merbench.conditions"]
        assert tag == '["drop-audio", "snr0-white", "snr10-pink", "snr200-white"]'
    again = merbench(env, *RUN, "--perturb", "drop=audio", "--no-table")
    assert again.returncode == 0, again.stderr
    assert "evaluating" not in again.stdout  # complete: nothing evaluated twice


def test_asr_text_is_a_condition_read_from_transcripts_of_the_test_speech(
    evaluated, merbench
) -> None:
    import json

    env, _, _ = evaluated
    before = entries(env)
    out = merbench(env, *RUN, "--perturb", "text=asr", "--no-table")
    assert out.returncode == 0, out.stderr
    assert "evaluating 2 runs under text=asr" in out.stdout
    [transcripts] = (Path(env["MERBENCH_CACHE"]) / "transcripts").glob("*.json")
    heard = json.loads(transcripts.read_text("utf-8"))["transcripts"]
    assert len(heard) == 16  # the test speech of fold1 and fold2 (8 utterances each), once
    assert all(text.strip() for text in heard.values())
    assert len(entries(env) - before) == 2  # the text features of the two heard test sets
    client, runs = store_runs(env)
    for run in runs:  # scored on every test utterance, from the stored weights
        clean = artifact(client, run.info.run_id, "predictions.parquet")
        asr = artifact(client, run.info.run_id, "conditions/text-asr/predictions.parquet")
        assert list(asr["id"]) == list(clean["id"])
        assert run.data.metrics["cond/text-asr/test/ua"] == pytest.approx(ua(asr))


def test_a_run_without_stored_weights_is_one_error_line_not_retrained(evaluated, merbench) -> None:
    env, _, _ = evaluated
    weights = next((Path(env["MERBENCH_RESULTS"]) / "artifacts").rglob("weights.safetensors"))
    weights.unlink()  # as a run stored by a merbench that kept no weights
    out = merbench(env, *RUN, "--perturb", "drop=text", "--no-table")
    assert out.returncode == 2
    assert "evaluating 1 runs under drop=text" in out.stdout  # the other run is evaluated
    [line] = out.stderr.strip().splitlines()
    assert line.startswith("error: 1 finished runs stored no weights")
    assert "cannot be evaluated under --perturb without training again" in line
    client, runs = store_runs(env)
    assert len(runs) == 2  # nothing trained again
    assert sorted("drop-text" in r.data.tags["merbench.conditions"] for r in runs) == [False, True]

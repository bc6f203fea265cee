"""Cross-corpus runs end to end through the command line: synth -> a synth-like manifest (synth
generated with another seed, read by the manifest reader) and an EmoDB-layout tree -> synth; the
matrix table's cells recomputed by hand from the logged predictions, its caption's mapping and
excluded counts, and the paired test over seeds. Tiny corpora and two epochs keep them short."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

TINY = [
    "--dataset-option", "synth:sessions=3", "--dataset-option", "synth:utterances_per_session=8",
    "--set", "train.max_epochs=2", "--set", "train.patience=1", "--no-table",
]  # fmt: skip


def by_hand_ua(frame: pd.DataFrame) -> float:
    """Mean per-class recall over the classes of the logged labels."""
    right = frame["prediction"] == frame["label"]
    return float(right.groupby(frame["label"]).mean().mean())


@pytest.fixture(scope="module")
def manifest_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from merbench.data.synth import SynthConfig, SynthCorpus
    from merbench.data.testing import write_manifest_of

    tmp = tmp_path_factory.mktemp("xruns")
    other = SynthCorpus(SynthConfig(seed=1, sessions=3, utterances_per_session=8,
                                    cache=str(tmp / "corpora"))).load(None)  # fmt: skip
    return write_manifest_of(other, tmp / "manifest").parent


def test_synth_to_a_synth_like_manifest_matrix_from_the_logged_predictions(
    cli_env: dict[str, str], merbench, manifest_dir: Path
) -> None:
    from merbench.experiment import tracking

    pair = ["--train-on", "synth", "--test-on", "synth", "--test-on", "manifest",
            "--data-root", f"manifest={manifest_dir}", "--seeds", "2", *TINY]  # fmt: skip
    for baseline in ("concat", "audio-only"):
        out = merbench(cli_env, "run", "--baseline", baseline, *pair)
        assert out.returncode == 0, out.stderr
        assert "on synth, manifest" in out.stdout  # 3 folds x 2 seeds in corpus, 2 cross runs
        assert "8 runs" in out.stdout
    table = merbench(cli_env, "table", "--matrix", "--format", "csv")
    assert table.returncode == 0, table.stderr
    cells = pd.read_csv(io.StringIO(table.stdout))

    uri = f"sqlite:///{Path(cli_env['MERBENCH_RESULTS']) / 'mlflow.db'}"
    runs = tracking.load_runs(uri)
    for name in ("concat", "audio-only"):
        for dataset, test in (("synth->manifest", "manifest"), ("synth", "synth")):
            mine = runs[(runs["name"] == name) & (runs["dataset"] == dataset)]
            assert len(mine) == (2 if test == "manifest" else 6)
            values = [by_hand_ua(tracking.load_predictions(r, uri)) for r in mine["run_id"]]
            [cell] = cells[cells["row"].str.startswith(name) & (cells["train"] == "synth")
                           & (cells["test"] == test)].itertuples()  # fmt: skip
            assert cell.mean == pytest.approx(np.mean(values), abs=1e-9)
            assert cell.std == pytest.approx(np.std(values, ddof=1), abs=1e-9)
            assert cell.runs == len(values)
    manifest_ids = set(pd.read_csv(manifest_dir / "manifest.csv")["id"])
    cross = runs[runs["dataset"] == "synth->manifest"]
    for run_id in cross["run_id"]:  # tested on all of the manifest, under its own ids
        assert set(tracking.load_predictions(run_id, uri)["id"]) == manifest_ids

    md = merbench(cli_env, "table", "--matrix", "--format", "md")
    assert md.returncode == 0, md.stderr
    assert (
        "labels meet on neutral, happy, sad, angry (synth: neutral=neutral, happy=happy, "
        "sad=sad, angry=angry; manifest: neutral=neutral, happy=happy, sad=sad, angry=angry); "
        "excluded utterances: synth none; manifest none."
    ) in md.stdout
    assert "synth->manifest: †: differs significantly from the best row of its column (paired " \
        "t-test over 2 seeds of one split" in md.stdout  # fmt: skip
    found = re.search(r"synth->manifest: (.+?) - (.+?) = ([+-]\d+\.\d) points \(95% CI", md.stdout)
    assert found, md.stdout
    crossed = cells[(cells["train"] == "synth") & (cells["test"] == "manifest")]
    mean = dict(zip(crossed["row"], crossed["mean"], strict=True))
    row, reference, diff = found.groups()
    assert {row.split(" ")[0], reference.split(" ")[0]} == {"concat", "audio-only"}
    assert float(diff) == pytest.approx(round(100 * (mean[row] - mean[reference]), 1), abs=0.051)


def test_an_emodb_tree_to_synth_excludes_and_counts_the_classes_synth_lacks(
    cli_env: dict[str, str], merbench, tmp_path: Path
) -> None:
    from merbench.data.testing import write_emodb

    release = write_emodb(tmp_path, sentences=("a01",))  # 10 speakers x 7 emotions
    with_table = [o for o in TINY if o != "--no-table"]
    out = merbench(cli_env, "run", "--baseline", "concat", "--train-on", "emodb", "--test-on",
                   "synth", "--data-root", f"emodb={release}", *with_table)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "Cross-corpus ua (%): rows = training corpus" in out.stdout  # the matrix after the table
    md = merbench(cli_env, "table", "--matrix", "--format", "md", "--dataset", "emodb->synth")
    assert md.returncode == 0, md.stderr
    assert "| emodb | - | " in md.stdout  # no in-corpus EmoDB run: an empty diagonal cell
    assert (
        "emodb -> synth: trained on emodb outside the dev part of its fold1 (dev: model "
        "selection), tested on all of synth; labels meet on neutral, happy, sad, angry"
    ) in md.stdout
    assert "excluded utterances: emodb boredom 10, disgust 10, fear 10; synth none." in md.stdout
    assert "One configuration per pair: no test between configurations." in md.stdout

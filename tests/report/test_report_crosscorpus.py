"""The cross-corpus matrix from a runs table built through the runner's real tags: cells, the
in-corpus diagonal, the paired t-test over seeds between configurations, and the caption."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from report_helpers import make_runs
from scipy import stats

from merbench.data.base import Corpus, Protocol, Split, Utterance
from merbench.data.crosscorpus import join
from merbench.errors import UserError
from merbench.report.crosscorpus import cross_matrix, render_matrix

A = {0: 0.60, 1: 0.70, 2: 0.65}
B = {0: 0.50, 1: 0.52, 2: 0.48}


def pair_protocol() -> str:
    """The protocol record of a synth -> emodb run: 2 emodb utterances excluded (boredom)."""

    def corpus(name: str, labels: tuple[str, ...], records: list[tuple[str, str]]) -> Corpus:
        utts = [Utterance(i, "s", "g", "text", None, label) for i, label in records]
        split = Split("fold1", (records[0][0],), (records[1][0],), ())
        return Corpus(name, utts, Protocol(labels, (split,), ("ua", "wa", "avg"), "next_session"))

    synth = corpus("synth", ("neutral", "happy", "sad", "angry"), [("a", "sad"), ("b", "angry")])
    emodb = corpus("emodb", ("neutral", "angry", "boredom"),
                   [("c", "angry"), ("d", "boredom"), ("e", "boredom"), ("f", "neutral")])  # fmt: skip
    record = join(synth, emodb, "synth", "emodb").protocol.record("synth->emodb")
    return json.dumps(record, sort_keys=True)


def runs() -> pd.DataFrame:
    cross = make_runs(
        {"A": {("cross", s): {"ua": v} for s, v in A.items()},
         "B": {("cross", s): {"ua": v} for s, v in B.items()}},
    ).assign(dataset="synth->emodb", protocol=pair_protocol())  # fmt: skip
    cross["run_key"] = "x" + cross["run_key"]
    diagonal = make_runs({"A": {("fold1", 0): {"ua": 0.5}, ("fold2", 0): {"ua": 0.7}}})
    return pd.concat([cross, diagonal], ignore_index=True)


def test_cells_diagonal_and_the_paired_t_test_over_seeds() -> None:
    matrix = cross_matrix(runs())
    assert (matrix.trains, matrix.tests) == (["synth"], ["emodb", "synth"])
    mean, std, n = matrix.cells[("A", "synth", "emodb")]
    assert (mean, std, n) == (pytest.approx(0.65), pytest.approx(0.05), 3)
    assert matrix.cells[("B", "synth", "emodb")][:2] == (pytest.approx(0.50), pytest.approx(0.02))
    assert matrix.cells[("A", "synth", "synth")][:2] == (
        pytest.approx(0.6),
        pytest.approx(0.1414, abs=1e-4),
    )
    assert ("B", "synth", "synth") not in matrix.cells  # no in-corpus run of B
    diffs = np.array([B[s] - A[s] for s in (0, 1, 2)])
    t = diffs.mean() / (diffs.std(ddof=1) / np.sqrt(3))
    [comparison] = matrix.comparisons.itertuples(index=False)
    assert (comparison.row, comparison.reference, comparison.test) == ("B", "A", "ttest")
    assert comparison.diff == pytest.approx(diffs.mean())
    assert comparison.p_value == pytest.approx(2 * stats.t.sf(abs(t), df=2))
    assert comparison.p_value < 0.05 and matrix.marked == {("B", "synth", "emodb")}


def test_markdown_shows_the_matrix_the_mapping_the_excluded_and_the_test() -> None:
    text = render_matrix(runs(), fmt="md")
    assert "| synth | 65.0 ± 5.0 | 60.0 ± 14.1 |" in text
    assert "| synth | 50.0 ± 2.0 † | - |" in text
    assert (
        "labels meet on neutral, angry (synth: neutral=neutral, angry=angry; emodb: "
        "neutral=neutral, angry=angry); excluded utterances: synth sad 1; emodb boredom 2."
    ) in text
    assert "synth->emodb: †: differs significantly from the best row of its column (paired " \
        "t-test over 3 seeds of one split" in text  # fmt: skip
    assert "synth->emodb: B - A = -15.0 points (95% CI" in text


def test_runs_without_a_cross_corpus_pair_and_unknown_metrics_are_refused() -> None:
    with pytest.raises(UserError, match="--matrix: no cross-corpus runs"):
        cross_matrix(make_runs({"A": {("fold1", 0): {"ua": 0.5}}}))
    with pytest.raises(UserError, match="--metric wf1: no cross-corpus run logged it"):
        cross_matrix(runs(), metric="wf1")
    with pytest.raises(UserError, match="--matrix has no --format latex"):
        render_matrix(runs(), fmt="latex")

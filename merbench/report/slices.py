"""Scores on a slice of the test utterances, e.g. synth's emotionally inconsistent ones.

synth records for each utterance whether its text carries the voice's emotion (``consistent``);
the inconsistent slice is exactly where the ED submodule is meant to help, so tables can show the
headline metrics on it beside the full test set. A slice metric is named ``<metric>@<slice>``
(``ua@inconsistent``): `add_slice_metrics` computes it per run from the per-utterance predictions
and adds the column ``test/<metric>@<slice>`` to the runs table, so aggregation and unit-level
tests treat it like any metric; utterance-level tests filter the predictions with `slice_mask`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from merbench.data.slices import SLICES, slice_mask, slice_scores

__all__ = ["SLICES", "slice_mask", "add_slice_metrics", "split_metric"]

SLICE_HEADERS = {"inconsistent": "inc.", "consistent": "con."}
SLICE_DEFINITIONS = {
    "inconsistent": "inc. = on the utterances whose text emotion differs from the voice's",
    "consistent": "con. = on the utterances whose text carries the voice's emotion",
}


def split_metric(name: str) -> tuple[str, str | None]:
    """``"ua@inconsistent"`` -> ``("ua", "inconsistent")``; ``"ua"`` -> ``("ua", None)``."""
    base, _, piece = name.partition("@")
    return base, (piece or None)


def add_slice_metrics(
    runs: pd.DataFrame,
    predictions: Callable[[str], pd.DataFrame],
    name: str,
    metrics: dict[str, list[str]],
    part: str = "test",
) -> pd.DataFrame:
    """`runs` with columns ``<part>/<metric>@<name>`` for every dataset's `metrics`, computed from
    each run's predictions restricted to the slice (`merbench.data.slices.slice_scores`;
    ``avg`` = mean of the others). Runs whose predictions lack the slice column get NaN."""
    out = runs.copy()
    for dataset, names in metrics.items():
        for m in names:
            if f"{part}/{m}@{name}" not in out.columns:
                out[f"{part}/{m}@{name}"] = np.nan
        for index, run_id in out.loc[out["dataset"] == dataset, "run_id"].items():
            scores = slice_scores(predictions(str(run_id)), name, names)
            for m, value in scores.items():
                out.loc[index, f"{part}/{m}@{name}"] = value
    return out

"""Slices of a predictions frame and the scores on them (one computation for training and tables).

A slice keeps the test utterances whose predictions row has a given value in a column: synth
records whether an utterance's text carries the voice's emotion (``consistent``), and the
inconsistent slice is where an emotion-discrimination module is meant to help.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from merbench.errors import UserError

#: slice name -> (predictions column, value kept)
SLICES: dict[str, tuple[str, bool]] = {
    "inconsistent": ("consistent", False),
    "consistent": ("consistent", True),
}


def slice_mask(frame: pd.DataFrame, name: str) -> pd.Series:
    """Boolean mask of the rows of a predictions frame that belong to slice `name`."""
    if name not in SLICES:
        raise UserError(f"unknown slice {name!r}; valid: {', '.join(SLICES)}")
    column, keep = SLICES[name]
    if column not in frame.columns:
        raise UserError(f"slice {name!r} needs a {column!r} column in the predictions")
    return frame[column].astype(bool) == keep


def slice_scores(frame: pd.DataFrame, name: str, metrics: Iterable[str]) -> dict[str, float]:
    """`metrics` (``avg`` = mean of the others) on the rows of a predictions frame (columns
    ``label, prediction`` and the slice's column) in slice `name`; empty when the frame does not
    record the slice's column or no row is in the slice. Single-label predictions only."""
    from merbench.data.metrics import compute_metrics

    if name in SLICES and SLICES[name][0] not in frame.columns:
        return {}
    sub = frame[slice_mask(frame, name)]
    if sub.empty:
        return {}
    classes = sorted(set(frame["label"]) | set(frame["prediction"]))
    code = {c: i for i, c in enumerate(classes)}
    y = sub["label"].map(code).to_numpy()
    p = sub["prediction"].map(code).to_numpy()
    return compute_metrics(y, p, len(classes), list(metrics))

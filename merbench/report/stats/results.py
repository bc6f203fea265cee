"""The inputs and the outcome of one significance test: `Units`, `Utterances` -> `StatResult`."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class StatResult:
    """Outcome of one comparison of configuration A against reference B (difference = A - B).

    `diff` is the mean per-unit difference (unit tests) or the pooled metric difference
    (utterance tests); `ci` its confidence interval (NaN when the test gives none); `effect` the
    effect size named by `effect_name`; `n` the number of units or utterance clusters.
    """

    test: str
    statistic: float
    p_value: float
    diff: float
    effect: float
    effect_name: str
    n: int
    ci: tuple[float, float] = (math.nan, math.nan)
    note: str = ""


@dataclass(frozen=True)
class Units:
    """Per-unit metric values of configuration A and reference B, matched: ``a[i]``, ``b[i]``
    belong to the same unit (a fold, seed-averaged, or a seed of one split). Shapes ``[n]``.
    ``ratio`` is n_test / n_train of a fold when the units are folds of a cross-validation (the
    corrected resampled t-test's variance inflation), 0 otherwise."""

    a: np.ndarray
    b: np.ndarray
    ratio: float = 0.0


@dataclass(frozen=True)
class Utterances:
    """Per-utterance predictions of A and B over matched units, as confusion-count contributions.

    ``ha[i]``, ``hb[i]`` (shape ``[N, C*C]``) count, for utterance cluster i (one utterance of one
    split), how often the pair (true class, predicted class) occurs over the seeds, flattened as
    ``true * C + pred``. ``correct_a[i]`` / ``correct_b[i]`` are the shares of seeds that predict
    cluster i correctly. `metric` is the metric whose difference is tested.
    """

    ha: np.ndarray
    hb: np.ndarray
    correct_a: np.ndarray
    correct_b: np.ndarray
    num_classes: int
    metric: str
    components: tuple[str, ...] = field(default=())  # the metrics `avg` averages

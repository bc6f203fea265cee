"""How far speaker and label go together in a corpus (reported by `merbench datasets check`).

Per-speaker feature normalisation (``train.speaker_norm``) removes whatever is constant within a
speaker. Where every speaker expresses every emotion (acted corpora) that is the voice; where
speakers mostly express one emotion (many naturalistic corpora) it is the label as well. Cramér's
V of the speaker x label contingency table says which case a corpus is: 0 when every speaker has
the same label mix, 1 when each speaker has a single label.
"""

from __future__ import annotations

import math
from collections import Counter

from merbench.data.base import Corpus


def cramers_v(table: list[list[int]]) -> float:
    """Cramér's V of a contingency table (rows x columns of counts); 0 for a degenerate table
    (one row or one column, or no counts)."""
    rows = [r for r in table if sum(r)]
    cols = [c for c in zip(*rows, strict=True) if sum(c)] if rows else []
    n = sum(map(sum, rows))
    k = min(len(rows), len(cols))
    if k < 2 or n == 0:
        return 0.0
    table = [list(r) for r in zip(*cols, strict=True)]
    row_sums, col_sums = [sum(r) for r in table], [sum(c) for c in cols]
    chi2 = sum(
        (table[i][j] - row_sums[i] * col_sums[j] / n) ** 2 / (row_sums[i] * col_sums[j] / n)
        for i in range(len(table))
        for j in range(len(cols))
    )
    return math.sqrt(chi2 / (n * (k - 1)))


def speaker_label_confound(corpus: Corpus) -> str:
    """One line: Cramér's V of speaker x label, and the mean share of a speaker's utterances in
    that speaker's most frequent class ("" when the corpus has fewer than two speakers)."""
    per_speaker: dict[str, Counter] = {}
    for utt in corpus.utterances:
        per_speaker.setdefault(utt.speaker, Counter())[utt.label] += 1
    if len(per_speaker) < 2:
        return ""
    labels = corpus.protocol.labels
    v = cramers_v([[c.get(lab, 0) for lab in labels] for c in per_speaker.values()])
    top = sum(max(c.values()) / sum(c.values()) for c in per_speaker.values()) / len(per_speaker)
    return (
        f"speaker and label: Cramér's V {v:.2f} over {len(per_speaker)} speakers (0: every "
        f"speaker has the same label mix, 1: one label per speaker); a speaker's most frequent "
        f"class holds {100 * top:.0f}% of their utterances on average. Per-speaker "
        f"normalisation (train.speaker_norm) removes the speaker's voice, and with a high V the "
        f"label as well"
    )

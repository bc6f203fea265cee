"""A tiny corpus for the feature-store tests, built directly from the `merbench.data.base` records,
with sine and noise wav files written by soundfile (no corpus generator involved).

A module of its own (not conftest.py): several test folders have a conftest, and
``from conftest import ...`` would pick whichever was imported first."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from merbench.data.base import Corpus, Protocol, Split, Utterance

TEXTS = [
    "I can't believe you did that!",
    "ok",
    "We should talk about what happened yesterday at the station.",
    "Fine.",
    "That is wonderful news, thank you so much for telling me first.",
    "no",
]
SECONDS = [0.5, 1.2, 0.3, 2.0, 0.8, 1.0]


def make_corpus(
    folder: Path, n: int = 6, name: str = "tiny", seed: int = 0, write: bool = True
) -> Corpus:
    """`n` utterances (n > 6 cycles the texts): sine or noise waves of various lengths at 16 kHz.

    With ``write=False`` the wav files already in `folder` are reused (same fingerprint).
    """
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    utts = []
    for i in range(n):
        seconds = SECONDS[i % len(SECONDS)]
        t = np.arange(int(16000 * seconds)) / 16000
        if i % 2 == 0:
            wave = 0.3 * np.sin(2 * np.pi * (150 + 40 * i) * t)
        else:
            wave = 0.1 * rng.standard_normal(t.shape[0])
        path = folder / f"u{i:03d}.wav"
        if write:
            sf.write(path, wave.astype(np.float32), 16000)
        utts.append(
            Utterance(
                id=f"u{i:03d}",
                speaker=f"s{i % 2}",
                group="g0",
                text=TEXTS[i % len(TEXTS)],
                audio=path,
                label="happy" if i % 2 == 0 else "sad",
            )
        )
    ids = tuple(u.id for u in utts)
    split = Split("fold1", train=ids[: n - 2], dev=ids[n - 2 : n - 1], test=ids[n - 1 :])
    protocol = Protocol(
        labels=("happy", "sad"), splits=(split,), headline_metrics=("ua",), dev_rule="given"
    )
    return Corpus(name=name, utterances=utts, protocol=protocol, root=folder)

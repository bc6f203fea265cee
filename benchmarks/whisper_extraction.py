"""Whisper-encoder extraction: throughput and fidelity of the three window modes on real speech.

Encodes a corpus's utterances with the ``whisper`` encoder (the packaged tiny.en) in each window
mode, in batches of 16 sorted by decreasing length (as the feature store batches them):

- ``full``: each utterance alone in a 30-s window, zero-padded (as Whisper was trained: the
  reference);
- ``packed``: the utterances of a batch share 30-s windows;
- ``trimmed``: each utterance alone in a window cut to its own length.

With ``--shuffled`` the batches take utterances in a seeded random order instead (for ``packed``:
neighbours in a window from any speaker, where corpus order puts one speaker's utterances together).

Prints, per mode: seconds of audio encoded per wall-clock second and per core (``--threads``), the
cosine similarity of each utterance's frames to the ``full`` frames (mean over frames, then mean and
minimum over utterances), and a downstream score: mean and std pooled frames, standardised,
logistic regression (scikit-learn, C=1), one fold per speaker held out, unweighted accuracy (UA)
mean and std over folds. Model loading happens before timing; run it on an idle machine.

    .venv/bin/python benchmarks/whisper_extraction.py --data-root ../shared/corpora/emodb --threads 2
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

MODES = ("full", "packed", "trimmed")
BATCH = 16


def load(dataset: str, root: Path, limit: int) -> tuple[list[np.ndarray], list[str], list[str]]:
    """Waveforms (16 kHz), speakers and labels of the first `limit` utterances (0 = all)."""
    from merbench.registry import DATASETS

    corpus = DATASETS.build(dataset).load(root)
    utts = corpus.utterances[:limit] if limit else corpus.utterances
    waves = [corpus.load_audio(u, 16000) for u in utts]
    return waves, [u.speaker for u in utts], [u.label for u in utts]


def extract(
    mode: str, waves: list[np.ndarray], shuffled: bool = False
) -> tuple[list[np.ndarray], float, float]:
    """Frames of every waveform, wall seconds and CPU seconds of the encoding; batches of
    utterances sorted by length (ties in corpus order), or in a seeded random order."""
    from merbench.encoders import build_encoder

    encoder = build_encoder("whisper", window=mode)
    encoder.encode([waves[0]])  # load the model and warm up outside the timing
    order = sorted(range(len(waves)), key=lambda i: -len(waves[i]))
    if shuffled:
        order = [int(i) for i in np.random.default_rng(0).permutation(len(waves))]
    frames: list[np.ndarray] = [np.empty(0)] * len(waves)
    wall, cpu = time.perf_counter(), time.process_time()
    for start in range(0, len(order), BATCH):
        batch = order[start : start + BATCH]
        for i, out in zip(batch, encoder.encode([waves[i] for i in batch]), strict=True):
            frames[i] = out
    return frames, time.perf_counter() - wall, time.process_time() - cpu


def cosine(a: list[np.ndarray], b: list[np.ndarray]) -> np.ndarray:
    """Per utterance: mean over frames of the cosine similarity of matching frames."""
    out = []
    for x, y in zip(a, b, strict=True):
        num = np.sum(x * y, axis=1)
        den = np.linalg.norm(x, axis=1) * np.linalg.norm(y, axis=1) + 1e-12
        out.append(float(np.mean(num / den)))
    return np.array(out)


def downstream_ua(frames: list[np.ndarray], speakers: list[str], labels: list[str]) -> np.ndarray:
    """UA per held-out speaker of logistic regression on standardised mean+std pooled frames."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = np.stack([np.concatenate([f.mean(0), f.std(0)]) for f in frames])
    y, spk = np.array(labels), np.array(speakers)
    scores = []
    for s in sorted(set(speakers)):
        test = spk == s
        model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=3000))
        model.fit(x[~test], y[~test])
        scores.append(balanced_accuracy_score(y[test], model.predict(x[test])))
    return 100 * np.array(scores)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", default="emodb")
    parser.add_argument("--data-root", type=Path, required=True)
    parser.add_argument("--limit", type=int, default=0, help="first N utterances (0 = all)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument(
        "--shuffled", action="store_true", help="batches in a random order, not by length"
    )
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = str(args.threads)

    waves, speakers, labels = load(args.dataset, args.data_root, args.limit)
    audio = sum(len(w) for w in waves) / 16000
    print(
        f"{args.dataset}: {len(waves)} utterances, {audio:.0f} s of audio, {args.threads} threads"
    )
    results = {}
    for mode in args.modes.split(","):
        frames, wall, cpu = extract(mode, waves, args.shuffled)
        results[mode] = frames
        ua = downstream_ua(frames, speakers, labels) if len(set(speakers)) > 1 else np.zeros(1)
        line = (
            f"{mode:8s} {audio / wall:6.1f} s audio/s ({audio / wall / args.threads:5.1f} per core, "
            f"{audio / cpu:5.1f} per CPU s)  UA {ua.mean():.1f} +- {ua.std(ddof=1):.1f}"
        )
        if mode != "full" and "full" in results:
            c = cosine(results["full"], frames)
            line += f"  cos vs full: mean {c.mean():.3f} min {c.min():.3f}"
        print(line, flush=True)


if __name__ == "__main__":
    main()

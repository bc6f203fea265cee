"""Child-process bodies for the store's multi-process tests (importable by `spawn` children)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from features_helpers import make_corpus

from merbench.encoders import build_encoder
from merbench.features.store import FeatureStore


def extract_slowly(corpus_dir: str, store_dir: str, barrier: Any, results: Any) -> None:
    """Wait for the sibling, then extract egemaps one utterance per batch, pausing between batches
    so that the sibling arrives while this one holds the lock; report the forward passes."""
    corpus = make_corpus(Path(corpus_dir), write=False)
    encoder = build_encoder("egemaps")
    store = FeatureStore(Path(store_dir), max_batch=1)
    barrier.wait()
    feats = store.get(corpus, encoder, progress=lambda done, total: time.sleep(0.2))
    results.put((os.getpid(), encoder.forward_calls, store.stats["extracted"], len(feats)))


def crash_mid_extraction(corpus_dir: str, store_dir: str) -> None:
    """Extract egemaps one utterance per batch and die abruptly (no cleanup) after two batches."""
    corpus = make_corpus(Path(corpus_dir), write=False)
    store = FeatureStore(Path(store_dir), max_batch=1)

    def die(done: int, total: int) -> None:
        if done == 2:
            os._exit(3)

    store.get(corpus, build_encoder("egemaps"), progress=die)

"""What `merbench features` does: extract ahead of time, list entries, remove entries.

The CLI loads the corpus and draws the progress bars; these functions do the work and return plain
values. The store lives in ``<cache root>/features`` (``--cache-dir``, else ``$MERBENCH_CACHE``,
else ``~/.cache/merbench``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from merbench.data.base import Corpus
from merbench.errors import UserError
from merbench.features.entry import EntryInfo, FeatureSet
from merbench.features.store import FeatureStore
from merbench.paths import feature_store_dir


def open_store(cache: str | Path | None = None, **options: float | int | str) -> FeatureStore:
    """The feature store under cache root `cache` (default: ``$MERBENCH_CACHE`` or ~/.cache)."""
    return FeatureStore(feature_store_dir(cache), **options)  # type: ignore[arg-type]


def extract(
    corpus: Corpus,
    specs: list[str],
    store: FeatureStore,
    *,
    device: str = "cpu",
    progress: Callable[[str, int, int], None] | None = None,
    modalities: dict[str, str] | None = None,
) -> list[tuple[str, FeatureSet, int]]:
    """Fill `store` with `corpus` encoded by each encoder spec (``egemaps``, ``hf:NAME``...).

    Returns (spec, feature set, encoder forward passes) per spec: 0 passes means it was cached.
    `progress(spec, n_done, n_total)` follows each extraction. `modalities` (spec -> "audio" or
    "text") says what each spec must be: a text model given as audio encoder is a UserError.
    """
    from merbench.encoders import build_encoder

    if not specs:
        raise UserError("features: give --audio-encoder and/or --text-encoder")
    encoders = [(spec, build_encoder(spec)) for spec in specs]  # all names checked before any work
    for spec, encoder in encoders:
        expected = (modalities or {}).get(spec)
        if expected and encoder.modality != expected:
            raise UserError(
                f"--{expected}-encoder {spec}: it is a {encoder.modality} encoder, not {expected}"
            )
    out = []
    for spec, encoder in encoders:
        report = None
        if progress is not None:

            def report(done: int, total: int, spec: str = spec) -> None:
                progress(spec, done, total)

        feats = store.get(corpus, encoder, device=device, progress=report)
        out.append((spec, feats, encoder.forward_calls))
    return out


def list_entries(store: FeatureStore) -> list[EntryInfo]:
    """Every complete entry of `store`, newest first."""
    return store.entries()


def remove_entries(store: FeatureStore, prefix: str | None, *, all: bool = False) -> list[str]:
    """Remove the entry whose key starts with `prefix`, or all entries; the removed keys."""
    if prefix and all:
        raise UserError("features rm: give a key prefix or --all, not both")
    return store.remove(prefix, all=all)


def human_size(n: int) -> str:
    """``1536`` -> ``"1.5 kB"``: binary multiples, one decimal."""
    if n < 1024:
        return f"{n} B"
    size = n / 1024
    for unit in ("kB", "MB", "GB"):
        if size < 1024:
            return f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"

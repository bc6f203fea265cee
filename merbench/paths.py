"""Default locations: the cache (generated corpora, feature store) and the results folder."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir(override: str | Path | None = None) -> Path:
    """The cache root: `override`, else ``$MERBENCH_CACHE``, else ``~/.cache/merbench``."""
    if override:
        return Path(override).expanduser()
    env = os.environ.get("MERBENCH_CACHE")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "merbench"


def feature_store_dir(cache: str | Path | None = None) -> Path:
    """The feature store's folder: ``<cache root>/features`` (see `cache_dir`)."""
    return cache_dir(cache) / "features"


def results_dir() -> Path:
    """Where runs go by default: ``$MERBENCH_RESULTS`` or ``./results``."""
    return Path(os.environ.get("MERBENCH_RESULTS", "results"))


def repo_file(*parts: str) -> Path:
    """A file of the repository's declarative catalogue (``registry/``, ``datasets/``)."""
    return Path(__file__).resolve().parent.parent.joinpath(*parts)

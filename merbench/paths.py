"""Default locations: the cache (generated corpora, feature store), the results folder and the
declarative catalogue (recipes, grids, reported numbers, dataset cards)."""

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


def catalogue_root() -> Path:
    """The folder holding the declarative catalogue (``registry/``, ``datasets/``).

    Installed from a wheel, the catalogue is package data, ``merbench/_catalogue/`` (found with
    `importlib.resources`; pyproject.toml maps the repository's top-level folders there). In a
    source checkout (editable install, ``PYTHONPATH``) there is no such folder and the catalogue
    is the repository's top level, the folders a reader edits.
    """
    from importlib import resources

    packaged = resources.files("merbench") / "_catalogue"
    if isinstance(packaged, Path) and packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent


def repo_file(*parts: str) -> Path:
    """A file of the declarative catalogue: ``repo_file("registry", "grids", "x.toml")``."""
    return catalogue_root().joinpath(*parts)

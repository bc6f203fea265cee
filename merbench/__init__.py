"""merbench: a benchmark harness for multimodal (speech + text) emotion recognition.

Layers, each a sub-package, data flowing one way (nothing imports upward):
``data`` (corpora, protocols, metrics) -> ``encoders`` (frozen backbones) -> ``features`` (the
feature store) -> ``models`` (swappable components) -> ``train`` (one run) -> ``experiment`` (grids,
run identity, tracking, executors) -> ``report`` (aggregation, significance, tables, plots) -> ``cli``.
"""

from functools import cache


@cache
def _installed_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("merbench")  # written once, in pyproject.toml
    except PackageNotFoundError:  # a source tree on sys.path without an installed distribution
        return "0+unknown"


def __getattr__(name: str) -> str:
    """``merbench.__version__``: the installed distribution's version, read when first asked."""
    if name == "__version__":
        return _installed_version()
    raise AttributeError(f"module 'merbench' has no attribute {name!r}")

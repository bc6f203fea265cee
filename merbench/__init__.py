"""merbench: a benchmark harness for multimodal (speech + text) emotion recognition.

Layers, each a sub-package, data flowing one way (nothing imports upward):
``data`` (corpora, protocols, metrics) -> ``encoders`` (frozen backbones) -> ``features`` (the
feature store) -> ``models`` (swappable components) -> ``train`` (one run) -> ``experiment`` (grids,
run identity, tracking, executors) -> ``report`` (aggregation, significance, tables, plots) -> ``cli``.
"""

__version__ = "0.1.0"

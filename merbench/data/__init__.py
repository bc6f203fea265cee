"""Corpora layer: reading corpora in their distributed layouts, protocols (splits, labels), metrics."""

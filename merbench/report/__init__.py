"""Reporting layer: aggregation over folds and seeds, significance tests, tables, plots."""

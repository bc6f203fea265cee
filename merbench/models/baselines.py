"""Baseline models: late fusion, FDRL (reconstructed from the abstract), MISA."""

"""Shared builders for the report tests: small runs tables written out by hand."""

from __future__ import annotations

import pandas as pd


def make_runs(values: dict[str, dict[tuple[str, int], dict[str, float]]], dataset: str = "synth",
              grid: str = "") -> pd.DataFrame:  # fmt: skip
    """A runs table from ``{config: {(split, seed): {metric: value}}}`` (metrics without the
    ``test/`` prefix)."""
    records = []
    for name, units in values.items():
        for (split, seed), metrics in units.items():
            records.append({
                "run_id": f"{dataset}-{name}-{split}-{seed}", "run_key": f"{name}-{split}-{seed}",
                "config_key": f"cfg-{name}", "name": name, "grid": grid, "dataset": dataset,
                "split": split, "seed": seed, "status": "FINISHED", "model": "drkf",
                "augmentation": "none", "fusion": "self", "ed": "off", "variant": "paper",
                **{f"test/{k}": v for k, v in metrics.items()},
            })  # fmt: skip
    return pd.DataFrame.from_records(records)

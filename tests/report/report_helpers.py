"""Shared builders for the report tests: small runs tables written out by hand."""

from __future__ import annotations

import json

import pandas as pd

from merbench.data.card import card_path, load_card, make_protocol


def protocol_json(dataset: str, **overrides: object) -> str:
    """The protocol record a run on `dataset` logs (built from its real card by the data layer,
    as a loader does, without splits), as JSON; "" when the dataset has no card."""
    if not card_path(dataset).is_file():
        return ""
    card = load_card(dataset)
    classes = card["protocol"].get("classes")
    labels = card["classes"][classes]["labels"] if classes else card["protocol"].get("labels", [])
    record = make_protocol(card, labels, []).record(dataset)
    return json.dumps({**record, **overrides}, sort_keys=True)


def on_dataset(runs: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """`runs` moved to `dataset`, with that dataset's protocol."""
    return runs.assign(dataset=dataset, protocol=protocol_json(dataset))


def make_runs(values: dict[str, dict[tuple[str, int], dict[str, float]]], dataset: str = "synth",
              grid: str = "") -> pd.DataFrame:  # fmt: skip
    """A runs table from ``{config: {(split, seed): {metric: value}}}`` (metrics without the
    ``test/`` prefix), each run with the protocol of `dataset`'s card."""
    protocol = protocol_json(dataset)
    records = []
    for name, units in values.items():
        for (split, seed), metrics in units.items():
            records.append({
                "run_id": f"{dataset}-{name}-{split}-{seed}", "run_key": f"{name}-{split}-{seed}",
                "config_key": f"cfg-{name}", "name": name, "grid": grid, "dataset": dataset,
                "split": split, "seed": seed, "status": "FINISHED", "model": "drkf",
                "augmentation": "none", "fusion": "self", "ed": "off", "variant": "paper",
                "protocol": protocol, **{f"test/{k}": v for k, v in metrics.items()},
            })  # fmt: skip
    return pd.DataFrame.from_records(records)

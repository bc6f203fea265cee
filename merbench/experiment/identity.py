"""Run identity: canonical JSON of a resolved config, hashed with SHA-256.

The *config key* identifies a configuration on a dataset (resolved config + dataset section); the
*run key* adds the split and the seed. A grid re-run skips every run whose key already finished.
"""

from __future__ import annotations

from typing import Any

from merbench.keys import sha256_key


def config_key(config: dict[str, Any], dataset: dict[str, Any]) -> str:
    """Key of a configuration on a dataset (without split and seed)."""
    return sha256_key({"config": config, "dataset": dataset})


def run_key(config: dict[str, Any], dataset: dict[str, Any], split: str, seed: int) -> str:
    """Key of one run: configuration, dataset, split and seed."""
    return sha256_key({"config": config, "dataset": dataset, "split": split, "seed": int(seed)})

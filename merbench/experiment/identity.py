"""Run identity: canonical JSON of a resolved config, hashed with SHA-256.

The *config key* identifies a configuration on a dataset (resolved config + dataset section); the
*run key* adds the split and the seed. A grid re-run skips every run whose key already finished.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no insignificant whitespace: equal configs give equal strings."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def sha256_key(obj: Any) -> str:
    return hashlib.sha256(canonical_json(obj).encode("utf-8")).hexdigest()


def config_key(config: dict[str, Any], dataset: dict[str, Any]) -> str:
    """Key of a configuration on a dataset (without split and seed)."""
    return sha256_key({"config": config, "dataset": dataset})


def run_key(config: dict[str, Any], dataset: dict[str, Any], split: str, seed: int) -> str:
    """Key of one run: configuration, dataset, split and seed."""
    return sha256_key({"config": config, "dataset": dataset, "split": split, "seed": int(seed)})

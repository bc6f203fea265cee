"""Run identity: the canonical JSON of a resolved config with its dataset, hashed with SHA-256.

The *config key* identifies a configuration on a dataset (resolved config + dataset section); the
*run key* adds the split and the seed. A grid re-run skips every run whose key already finished.
`identity_json` is the text hashed, built from the config's one serialisation
(`ResolvedConfig.to_json`) and the dataset identity's canonical JSON; it is also the run's
``config.json`` artifact, so ``sha256(config.json)`` is the run key.
"""

from __future__ import annotations

from merbench.experiment.resolved import ResolvedConfig
from merbench.keys import canonical_json, compose_canonical, sha256_text


def identity_json(
    config: ResolvedConfig, dataset_json: str, split: str | None = None, seed: int | None = None
) -> str:
    """Canonical JSON of ``{"config", "dataset"[, "split", "seed"]}``; `dataset_json` is the
    canonical JSON of the dataset identity (`merbench.experiment.plan.dataset_identity`)."""
    members = {"config": config.to_json(), "dataset": dataset_json}
    if split is not None:
        members |= {"split": canonical_json(split), "seed": canonical_json(int(seed or 0))}
    return compose_canonical(members)


def config_key(config: ResolvedConfig, dataset_json: str) -> str:
    """Key of a configuration on a dataset (without split and seed)."""
    return sha256_text(identity_json(config, dataset_json))


def run_key(config: ResolvedConfig, dataset_json: str, split: str, seed: int) -> str:
    """Key of one run: configuration, dataset, split and seed."""
    return sha256_text(identity_json(config, dataset_json, split, seed))

"""Shared builders for the report tests: runs tables made from the runner's real MLflow tags.

A runs table is built the way `tracking.load_runs` builds it from the store: each run's tags come
from `runner.run_tags` of a resolved recipe, and `tracking.runs_table` turns tags and metrics into
rows. Tracking and report therefore cannot drift apart unnoticed.
"""

from __future__ import annotations

import json
from functools import lru_cache

import pandas as pd

from merbench.data.card import card_path, load_card, make_protocol
from merbench.experiment import tracking
from merbench.experiment.plan import DatasetRef, RunTask
from merbench.experiment.recipes import load_recipe, resolve
from merbench.experiment.resolved import ResolvedConfig
from merbench.experiment.runner import run_tags


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


@lru_cache(maxsize=1)
def _drkf_config() -> ResolvedConfig:
    return resolve(load_recipe("drkf"))


def task_for(name: str, dataset: str, split: str, seed: int, grid: str = "",
             config: ResolvedConfig | None = None) -> RunTask:  # fmt: skip
    """A `RunTask` of the resolved `drkf` recipe (or `config`) named `name`."""
    return RunTask(
        name=name, grid=grid, config=config or _drkf_config(),
        dataset=DatasetRef(dataset), dataset_identity_json="{}", split=split, seed=seed,
        run_key=f"{dataset}-{name}-{split}-{seed}", config_key=f"cfg-{name}", device="cpu",
        tracking_uri="", cache_dir=None,
    )  # fmt: skip


def search_frame(tasks_and_metrics: list[tuple[RunTask, dict[str, float]]]) -> pd.DataFrame:
    """What MLflow's search returns for these runs: tags from `run_tags` plus the protocol tag
    (`protocol_json` of the task's dataset, as `execute_task` logs it), metrics as logged."""
    records = []
    for i, (task, metrics) in enumerate(tasks_and_metrics):
        record = {"run_id": task.run_key, "status": "FINISHED", "start_time": i}
        record.update({f"tags.{k}": v for k, v in run_tags(task).items()})
        record[f"tags.{tracking.PROTOCOL_TAG}"] = protocol_json(task.dataset.name)
        record.update({f"metrics.{k}": v for k, v in metrics.items()})
        records.append(record)
    return pd.DataFrame.from_records(records)


def make_runs(values: dict[str, dict[tuple[str, int], dict[str, float]]], dataset: str = "synth",
              grid: str = "") -> pd.DataFrame:  # fmt: skip
    """A runs table from ``{config: {(split, seed): {metric: value}}}`` (metrics without the
    ``test/`` prefix), through the real tags (with the protocol of `dataset`'s card) and the real
    tags-to-table conversion."""
    runs = [
        (task_for(name, dataset, split, seed, grid), {f"test/{k}": v for k, v in metrics.items()})
        for name, units in values.items()
        for (split, seed), metrics in units.items()
    ]
    return tracking.runs_table(search_frame(runs))

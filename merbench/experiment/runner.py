"""Sweeps: expand configurations over splits and seeds, skip finished runs, execute, track.

`plan` turns configurations x dataset into `RunTask`s (each with its run key), `prepare` loads the
corpus and fills the feature store once in the calling process, and `sweep` hands the unfinished
tasks to an executor. `execute_task` is the unit of work an executor runs, in this process or
another one: it trains one run and logs it to MLflow.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from merbench.data.base import Corpus
from merbench.errors import UserError
from merbench.experiment import claims, tracking
from merbench.experiment.identity import config_key, run_key
from merbench.experiment.recipes import Configuration
from merbench.registry import DATASETS, MODELS, load_plugin_modules


@dataclass(frozen=True)
class DatasetRef:
    """Which corpus to use: registry name, folder (None for generated corpora), loader options."""

    name: str
    root: str | None = None
    options: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class RunTask:
    """Everything a worker needs to do one run, picklable for Ray and submitit."""

    name: str
    grid: str
    config_json: str
    dataset: DatasetRef
    dataset_identity_json: str
    split: str
    seed: int
    run_key: str
    config_key: str
    device: str
    tracking_uri: str
    cache_dir: str | None
    plugins: tuple[str, ...] = ()

    @property
    def config(self) -> dict[str, Any]:
        return json.loads(self.config_json)


@dataclass
class Outcome:
    """What came of one task: status (FINISHED, SKIPPED, FAILED), metrics, seconds, error."""

    task: RunTask
    status: str
    metrics: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    error: str = ""
    warning: str = ""


@lru_cache(maxsize=4)
def load_corpus(ref: DatasetRef) -> Corpus:
    """The corpus of `ref` (loaded once per process)."""
    loader = DATASETS.build(ref.name, **dict(ref.options))
    return loader.load(Path(ref.root).expanduser() if ref.root else None)


def dataset_identity(ref: DatasetRef, corpus: Corpus) -> dict[str, Any]:
    """The dataset part of run identity: name, resolved loader config, corpus fingerprint."""
    config = DATASETS.resolve(ref.name, dict(ref.options))
    resolved = dataclasses.asdict(config) if config is not None else {}
    return {"name": ref.name, **resolved, "fingerprint": corpus.fingerprint()}


def parse_seeds(text: str) -> tuple[int, ...]:
    """``"3"`` -> (0, 1, 2); ``"0,1,2"`` or ``"5,7"`` -> those seeds (non-negative integers)."""
    try:
        if "," in text:
            seeds = tuple(int(s) for s in text.split(",") if s.strip())
            if not seeds or min(seeds) < 0:
                raise UserError(f"--seeds {text!r}: seeds are non-negative integers")
            return seeds
        count = int(text)
    except ValueError:
        raise UserError(f"--seeds {text!r}: expected a count (3) or a list (0,1,2)") from None
    if count < 1:
        raise UserError(f"--seeds {text!r}: a count is at least 1 (for seed 0 alone: --seeds 0,)")
    return tuple(range(count))


def plan(
    configurations: list[Configuration],
    ref: DatasetRef,
    corpus: Corpus,
    seeds: tuple[int, ...],
    *,
    splits: tuple[str, ...] = (),
    device: str,
    tracking_uri: str,
    cache_dir: str | None,
    plugins: tuple[str, ...] = (),
) -> list[RunTask]:
    """Every (configuration, split, seed) run on `corpus`, with its run key."""
    identity = dataset_identity(ref, corpus)
    chosen = [corpus.protocol.split(s) for s in splits] if splits else corpus.protocol.splits
    tasks = []
    for conf in configurations:
        ckey = config_key(conf.config, identity)
        for split in chosen:
            for seed in seeds:
                tasks.append(
                    RunTask(
                        name=conf.name,
                        grid=conf.grid,
                        config_json=json.dumps(conf.config, sort_keys=True),
                        dataset=ref,
                        dataset_identity_json=json.dumps(identity, sort_keys=True),
                        split=split.name,
                        seed=seed,
                        run_key=run_key(conf.config, identity, split.name, seed),
                        config_key=ckey,
                        device=device,
                        tracking_uri=tracking_uri,
                        cache_dir=cache_dir,
                        plugins=plugins,
                    )
                )
    return tasks


def prepare_features(
    corpus: Corpus,
    encoders: set[tuple[str, str]],
    cache_dir: str | None,
    device: str,
    progress: Callable[[str, int, int], None] | None = None,
    on_missing: str = "skip",
) -> dict[str, str]:
    """Fill the feature store for `corpus` with every (modality, encoder spec) the runs need.

    Returns the utterances whose media could not be decoded (id -> message): the runs leave them
    out; with `on_missing` ``fail`` the first of them is a UserError instead.
    """
    from merbench.encoders import build_encoder
    from merbench.features.store import FeatureStore

    store = FeatureStore(Path(cache_dir) / "features" if cache_dir else None)
    unreadable: dict[str, str] = {}
    for modality, spec in sorted(encoders):
        encoder = build_encoder(spec)
        label = f"{modality}: {spec}"
        features = store.get(
            corpus,
            encoder,
            device=device,
            progress=(lambda done, total, label=label: progress(label, done, total))
            if progress
            else None,
        )
        unreadable.update(features.meta.get("unreadable", {}))
    if unreadable and on_missing == "fail":
        first = next(iter(unreadable.items()))
        raise UserError(f"{first[0]}: {first[1]} (on_missing=fail; use on_missing=skip to skip it)")
    return unreadable


def model_factory(config: dict[str, Any]) -> Callable[[int, int, int], Any]:
    """A function ``(audio_dim, text_dim, num_classes) -> model`` for a resolved config."""
    from merbench.models.base import ModelSpec

    model = dict(config["model"])
    name = model.pop("name")
    components = {
        role: (c["name"], {k: v for k, v in c.items() if k != "name"})
        for role, c in config["components"].items()
    }

    def make(audio_dim: int, text_dim: int, num_classes: int) -> Any:
        spec = ModelSpec(audio_dim, text_dim, num_classes, components=components)
        return MODELS.build(name, spec, **model)

    return make


def run_tags(task: RunTask) -> dict[str, str]:
    """The MLflow tags of a run (DESIGN.md: keys, names, each axis, dataset, split, seed)."""
    config = task.config
    components = config["components"]
    model_options = config["model"]
    tags = {
        "run_key": task.run_key,
        "config_key": task.config_key,
        "name": task.name,
        "grid": task.grid,
        "dataset": task.dataset.name,
        "split": task.split,
        "seed": str(task.seed),
        "device": task.device,
        "model": model_options["name"],
        "ed": "on" if model_options.get("ed") else "off",
        "variant": str(model_options.get("variant", "")),
        "audio_encoder": config["encoders"]["audio"],
        "text_encoder": config["encoders"]["text"],
    }
    for role, comp in components.items():
        # the ec/ed roles are heads: their plugin goes under `<role>_head`, so that the axis tag
        # `ed` keeps the axis value (on/off) that the report groups by
        tags[f"{role}_head" if role in ("ec", "ed") else role] = comp["name"]
    tags.setdefault("augmentation", "none")
    tags.setdefault("fusion", "")
    return {tracking.TAG + k: v for k, v in tags.items()} | {"mlflow.runName": task.name}


def confusion(predictions: Any, labels: tuple[str, ...]) -> Any:
    """Confusion matrix (rows: true label, columns: predicted) as a labelled DataFrame."""
    import pandas as pd

    matrix = pd.crosstab(predictions["label"], predictions["prediction"])
    return matrix.reindex(index=list(labels), columns=list(labels), fill_value=0)


def npy_bytes(array: Any) -> bytes:
    """`array` as float16 ``.npy`` bytes (no pickle)."""
    import io

    import numpy as np

    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array, dtype=np.float16), allow_pickle=False)
    return buffer.getvalue()


def execute_task(task: RunTask) -> Outcome:
    """Claim the run key, then train and track the run (`train_and_track`); SKIPPED when another
    live process holds the key or the run finished meanwhile (see `merbench.experiment.claims`)."""
    from merbench.experiment.claims import claimed

    with claimed(task.tracking_uri, task.run_key) as other:
        if other is not None:
            return Outcome(task, "SKIPPED", error=f"held by pid {other['pid']} on {other['host']}")
        if tracking.is_finished(task.tracking_uri, task.run_key):
            return Outcome(task, "SKIPPED", error="finished meanwhile by another process")
        return train_and_track(task)


def train_and_track(task: RunTask) -> Outcome:
    """Train and track one run. The MLflow run is FINISHED only when everything was logged."""
    from merbench.encoders import build_encoder
    from merbench.features.store import FeatureStore
    from merbench.train.config import TrainConfig
    from merbench.train.loop import train_one

    load_plugin_modules(task.plugins)
    corpus = load_corpus(task.dataset)
    config = task.config
    store = FeatureStore(Path(task.cache_dir) / "features" if task.cache_dir else None)
    audio = store.get(corpus, build_encoder(config["encoders"]["audio"]), device=task.device)
    text = store.get(corpus, build_encoder(config["encoders"]["text"]), device=task.device)
    train_config = TrainConfig(**config["train"])
    with tracking.TrackedRun(task.tracking_uri, task.name, run_tags(task)) as run:
        run.log_params(tracking.flatten({"config": config, "split": task.split, "seed": task.seed}))
        result = train_one(
            model_factory(config),
            corpus,
            corpus.protocol.split(task.split).keep(set(audio.ids) & set(text.ids)),
            audio,
            text,
            train_config,
            task.seed,
            task.device,
        )
        run.log_epoch_curves(result.curves)
        if result.balance.dominant:
            run.set_tag(tracking.TAG + "balance_warning", result.balance.dominant)
        run.log_metrics(
            {
                **result.metrics,
                **result.balance.metrics(),
                "best_epoch": result.best_epoch,
                "seconds": result.seconds,
                "skipped_utterances": len(corpus.skipped) + len(audio.meta.get("unreadable", {})),
            }
        )
        run.log_artifacts(
            {
                "config.json": {
                    "config": config,
                    "dataset": json.loads(task.dataset_identity_json),
                    "split": task.split,
                    "seed": task.seed,
                },
                "predictions.parquet": result.predictions,
                "confusion_matrix.csv": confusion(result.predictions, corpus.protocol.labels),
                "embeddings.npy": npy_bytes(result.embeddings),
            }
        )
    return Outcome(
        task, "FINISHED", result.metrics, result.seconds, warning=result.balance.warning()
    )


def pending(tasks: list[RunTask], tracking_uri: str) -> tuple[list[RunTask], list[RunTask]]:
    """Split `tasks` into (to run, already finished); runs left RUNNING by a process that is gone
    are marked FAILED (a run key claimed by a live process is left alone)."""
    states = tracking.run_states(tracking_uri)
    done = [t for t in tasks if states.get(t.run_key) == "FINISHED"]
    todo = [t for t in tasks if states.get(t.run_key) != "FINISHED"]
    stale = [
        t.run_key
        for t in todo
        if states.get(t.run_key) == "RUNNING" and claims.holder(tracking_uri, t.run_key) is None
    ]  # a run whose key a live process holds is running, not stale
    if stale:
        tracking.mark_stale_runs_failed(tracking_uri, stale)
    return todo, done


def sweep(tasks: list[RunTask], executor: Any) -> Iterator[Outcome]:
    """Run `tasks` with `executor`, yielding outcomes as they come."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    yield from executor.run(tasks, execute_task)

"""Running: fill the feature store, hand tasks to an executor, train and track one run.

`prepare_features` fills the feature store once in the calling process, `sweep` hands the
unfinished tasks (`merbench.experiment.plan`) to an executor, and `execute_task` is the unit of
work an executor runs, in this process or another one: it trains one run and logs it to MLflow.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from typing import Any

from merbench.data.base import Corpus
from merbench.errors import UserError
from merbench.experiment import tracking
from merbench.experiment.encoder_spec import EncoderSpec
from merbench.experiment.finetune import raw_inputs
from merbench.experiment.modalities import AbsentText, speech_only, text_label
from merbench.experiment.plan import Outcome, RunTask, load_corpus
from merbench.experiment.resolved import ResolvedConfig
from merbench.registry import load_plugin_modules


def prepare_features(
    corpus: Corpus,
    encoders: set[tuple[str, EncoderSpec]],
    cache_dir: str | None,
    device: str,
    progress: Callable[[str, int, int], None] | None = None,
    on_missing: str = "skip",
) -> dict[str, str]:
    """Fill the feature store for `corpus` with every (modality, encoder spec) the runs need.

    Returns the utterances whose media could not be decoded (id -> message): the runs leave them
    out; with `on_missing` ``fail`` the first of them is a UserError instead.
    """
    from merbench.features.manage import open_store

    if not encoders:  # every run fine-tunes on raw inputs: the store is not even opened
        return {}
    store = open_store(cache_dir)
    unreadable: dict[str, str] = {}
    for modality, spec in sorted(encoders, key=lambda pair: (pair[0], str(pair[1]))):
        encoder = spec.build()
        label = f"{modality}: {spec}"
        features = store.get(
            corpus,
            encoder,
            device=device,
            progress=functools.partial(progress, label) if progress else None,
        )
        unreadable.update(features.meta.get("unreadable", {}))
    if unreadable and on_missing == "fail":
        first = next(iter(unreadable.items()))
        raise UserError(f"{first[0]}: {first[1]} (on_missing=fail; use on_missing=skip to skip it)")
    return unreadable


def model_factory(config: ResolvedConfig) -> Callable[[int, int, int], Any]:
    """A function ``(audio_dim, text_dim, num_classes) -> model`` for a resolved config: its
    model and components are built from their resolved configs, without validating again. An
    encoder whose frames stack its hidden layers (``layer = "learned"``) gets the model wrapped
    in a `LayerMixModel` that learns their weights with it."""
    from merbench.models.base import ModelSpec

    layers = {m: stacked_layers(getattr(config.encoders, m)) for m in ("audio", "text")}

    def make(audio_dim: int, text_dim: int, num_classes: int) -> Any:
        audio_dim //= layers["audio"]
        text_dim //= layers["text"]
        spec = ModelSpec(audio_dim, text_dim, num_classes, components=dict(config.components))
        model = config.model.build(spec)
        if max(layers.values()) > 1:
            from merbench.models.layer_mix import LayerMixModel

            model = LayerMixModel(model, layers["audio"], layers["text"])
        return model

    return make


def stacked_layers(spec: EncoderSpec) -> int:
    """Hidden states an encoder stacks side by side in each frame (``layer = "learned"``), else 1."""
    if dict(spec.options).get("layer") != "learned":
        return 1
    return int(getattr(spec.build(), "stacked_layers", 1))


def run_tags(task: RunTask) -> dict[str, str]:
    """The MLflow tags of a run (docs/design.md: keys, names, each axis, dataset, split, seed)."""
    config = task.config
    model = config.model.options()
    tags = {
        "run_key": task.run_key,
        "config_key": task.config_key,
        "name": task.name,
        "grid": task.grid,
        "readable": task.readable or task.name,
        "dataset": task.dataset.name,
        "split": task.split,
        "seed": str(task.seed),
        "device": task.device,
        "model": config.model.name,
        "ed": "on" if model.get("ed") else "off",
        "variant": str(model.get("variant", "")),
        "audio_encoder": str(config.encoders.audio),
        "text_encoder": str(config.encoders.text),
        "text": text_label(json.loads(task.dataset_identity_json)),
        "finetune": "on" if raw_inputs(config) else "off",
    }
    for role, comp in config.components.items():
        # the ec/ed roles are heads: their plugin goes under `<role>_head`, so that the axis tag
        # `ed` keeps the axis value (on/off) that the report groups by
        tags[f"{role}_head" if role in ("ec", "ed") else role] = comp.name
    tags.setdefault("augmentation", "none")
    tags.setdefault("fusion", "")
    if task.label:
        tags["label"] = task.label
    return {tracking.TAG + k: v for k, v in tags.items()} | {"mlflow.runName": task.name}


def confusion(predictions: Any, labels: tuple[str, ...]) -> Any:
    """Confusion matrix (rows: true label, columns: predicted) as a labelled DataFrame."""
    import pandas as pd

    matrix = pd.crosstab(predictions["label"], predictions["prediction"])
    return matrix.reindex(index=list(labels), columns=list(labels), fill_value=0)


def with_groups(predictions: Any, corpus: Corpus) -> Any:
    """The predictions with what the report groups them by: ``speaker``, ``gender`` (only when the
    corpus records it, as the utterance meta ``gender``) and ``seconds`` (the audio duration from
    its file header; NaN when the file cannot be read that way, e.g. a video)."""
    utterances = [corpus[i] for i in predictions["id"]]
    out = predictions.assign(speaker=[u.speaker for u in utterances])
    if any("gender" in u.meta for u in utterances):
        out["gender"] = [u.meta.get("gender") for u in utterances]
    out["seconds"] = [audio_seconds(u.audio) for u in utterances]
    return out


def audio_seconds(path: Any) -> float:
    """Duration of an audio file in seconds from its header; NaN when there is none."""
    import soundfile

    if path is None:
        return float("nan")
    try:
        return float(soundfile.info(str(path)).duration)
    except (OSError, RuntimeError, soundfile.LibsndfileError):
        return float("nan")


def npy_bytes(array: Any) -> bytes:
    """`array` as float16 ``.npy`` bytes (no pickle)."""
    import io

    import numpy as np

    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array, dtype=np.float16), allow_pickle=False)
    return buffer.getvalue()


#: The artifact holding a run's selected weights (safetensors), read to evaluate it later.
WEIGHTS = "weights.safetensors"


def stored_weights(config: ResolvedConfig, result: Any) -> dict[str, bytes]:
    """The `WEIGHTS` artifact of a run: its selected weights, for every run on cached features
    (not for one that fine-tunes its backbones: they would be stored with it, and test-time
    conditions read cached features)."""
    if result.weights is None or raw_inputs(config):
        return {}
    return {WEIGHTS: weights_bytes(result.weights)}


def weights_bytes(state: dict[str, Any]) -> bytes:
    """A state dict as safetensors bytes (each tensor contiguous and unshared)."""
    from safetensors.torch import save

    return save({k: v.contiguous().clone() for k, v in state.items()})


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


def run_inputs(task: RunTask, corpus: Corpus) -> tuple[Any, Any, set[str]]:
    """``(audio, text, usable ids)`` a run reads: for a config that fine-tunes its backbones,
    raw waveforms and token ids (`merbench.train.raw`; the feature store is not opened) and the
    utterances with audio; otherwise the store's entries (a cross-corpus pair's: both corpora's,
    `crosscorpus.features_of`) and the utterances whose media could be decoded."""
    config = task.config
    if raw_inputs(config):
        from merbench.train.raw import raw_sources

        audio, text = raw_sources(corpus, config)
        return audio, text, {u.id for u in corpus.utterances if u.audio is not None}
    from merbench.experiment.crosscorpus import features_of
    from merbench.features.manage import open_store

    store = open_store(task.cache_dir)
    audio_features = features_of(store, corpus, config.encoders.audio.build(), task.device)
    usable = set(audio_features.ids)  # the utterances whose media could be decoded
    if speech_only(corpus):
        return audio_features, AbsentText(), usable
    text_features = features_of(store, corpus, config.encoders.text.build(), task.device)
    return audio_features, text_features, usable & set(text_features.ids)


def train_and_track(task: RunTask) -> Outcome:
    """Train and track one run. The MLflow run is FINISHED only when everything was logged."""
    from merbench.experiment.executors.threads import is_large
    from merbench.features.transcripts import corpus_wer, transcript_table
    from merbench.train.batches import BatchMaker
    from merbench.train.loop import train_one
    from merbench.train.raw import RawBatchMaker

    load_plugin_modules(task.plugins)
    corpus = load_corpus(task.dataset, task.cache_dir)
    config = task.config
    audio, text, usable = run_inputs(task, corpus)
    transcripts, wer = transcript_table(corpus), corpus_wer(corpus)
    protocol = corpus.protocol.record(task.dataset.name)
    tags = run_tags(task) | {tracking.PROTOCOL_TAG: json.dumps(protocol, sort_keys=True)}
    with tracking.TrackedRun(task.tracking_uri, task.name, tags) as run:
        params = {"config": config.to_dict(), "split": task.split, "seed": task.seed}
        run.log_params(tracking.flatten(params))
        result = train_one(
            model_factory(config),
            corpus,
            corpus.protocol.split(task.split).keep(usable),
            audio,
            text,
            config.train,
            task.seed,
            task.device,
            batch_maker=RawBatchMaker if raw_inputs(config) else BatchMaker,
            large_model=is_large(task),
        )
        run.log_epoch_curves(result.curves)
        run.log_curves(result.balance.curves())
        run.set_tag(tracking.TAG + "precision", result.precision)
        dominant = result.balance.dominant or result.balance.late_dominant
        if dominant:
            run.set_tag(tracking.TAG + "balance_warning", dominant)
        if result.balance.falling:
            run.set_tag(tracking.TAG + "balance_falling", result.balance.falling)
        run.log_metrics(
            {
                **result.metrics,
                **result.balance.metrics(),
                "best_epoch": result.best_epoch,
                "seconds": result.seconds,
                "skipped_utterances": len(corpus.skipped) + len(audio.meta.get("unreadable", {})),
                **({"asr_wer": wer} if wer is not None else {}),
            }
        )
        run.log_artifacts(
            {
                "config.json": task.identity_json().encode("utf-8"),
                "protocol.json": protocol,
                "predictions.parquet": with_groups(result.predictions, corpus),
                "confusion_matrix.csv": confusion(result.predictions, corpus.protocol.labels),
                "embeddings.npy": npy_bytes(result.embeddings),
                **stored_weights(config, result),
                **({"transcripts.csv": transcripts} if transcripts is not None else {}),
            }
        )
    return Outcome(
        task, "FINISHED", result.metrics, result.seconds, warning=result.balance.warning()
    )


def sweep(tasks: list[RunTask], executor: Any) -> Iterator[Outcome]:
    """Run `tasks` with `executor`, yielding outcomes as they come."""
    yield from executor.run(tasks, execute_task)

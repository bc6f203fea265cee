"""Evaluating finished runs under test-time conditions (`merbench.experiment.conditions`), without
training again: the run's selected weights (the ``weights.safetensors`` artifact every run logs)
are loaded into its model, which scores the test part of its split under each condition.

What a condition changes: ``snr`` re-runs the audio encoder on the noisy waveforms
(`merbench.data.perturbed`; the features are cached in the feature store under the noisy test
set's own key); ``drop`` feeds one all-zero frame for the modality (models declaring
``absent_modality = "zeros"``) or calls the model's ``logits_absent`` (``skip``, ``learned``);
``text`` encodes the test utterances' ASR transcripts. Everything else (encoders, speaker
normalisation, batch sizes, cropping) is as in training.

Results go into the run itself: metrics ``cond/<slug>/test/<metric>``, the predictions as
``conditions/<slug>/predictions.parquet``, and last the tag ``merbench.conditions`` (the slugs
done, JSON). A condition is complete only once listed there, so an interrupted evaluation is
redone, never read half-written; the run's status and its clean results are never touched.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from merbench.data.base import Corpus, Split
from merbench.errors import UserError
from merbench.experiment import tracking
from merbench.experiment.conditions import ABSENT_TAG, CONDITIONS_TAG, PREFIX, Condition
from merbench.experiment.finetune import raw_inputs
from merbench.experiment.plan import RunTask, load_corpus
from merbench.experiment.runner import WEIGHTS, model_factory, run_inputs, with_groups


class ZeroFeatures:
    """An absent modality: one all-zero frame of width `dim` per utterance."""

    def __init__(self, dim: int) -> None:
        self.dim = dim

    def __getitem__(self, utt_id: str) -> np.ndarray:
        return np.zeros((1, self.dim), dtype=np.float32)


class AbsentModality:
    """`model` with `modality` absent: ``logits`` is the model's ``logits_absent``."""

    def __init__(self, model: Any, modality: str) -> None:
        self.model, self.modality = model, modality

    def eval(self) -> AbsentModality:
        self.model.eval()
        return self

    def logits(self, batch: Any) -> Any:
        return self.model.logits_absent(batch, self.modality)

    def embed(self, batch: Any) -> Any:
        return self.model.embed(batch)


@dataclass
class Scored:
    """A run's results under one condition: ``test/<metric>`` values and its predictions."""

    metrics: dict[str, float]
    predictions: pd.DataFrame


def check_evaluable(tasks: list[RunTask], conditions: tuple[Condition, ...]) -> None:
    """Refuse, before anything trains, conditions the runs cannot be evaluated under."""
    if not conditions:
        return
    for task in tasks:
        if raw_inputs(task.config):
            raise UserError(
                f"--perturb: {task.name} fine-tunes its backbones on raw inputs (--finetune); "
                "test-time conditions need cached features"
            )


def subset(corpus: Corpus, ids: tuple[str, ...]) -> Corpus:
    """The utterances `ids` of `corpus` as a corpus of their own (same protocol)."""
    return Corpus(corpus.name, [corpus[i] for i in ids], corpus.protocol, root=corpus.root)


def condition_inputs(
    condition: Condition, task: RunTask, corpus: Corpus, split: Split, audio: Any, text: Any
) -> tuple[Any, Any]:
    """The ``(audio, text)`` features of the test part of `split` under `condition`."""
    from merbench.features.manage import open_store

    config = task.config
    if condition.kind == "drop":
        if condition.modality == "audio":
            return ZeroFeatures(audio.dim), text
        return audio, ZeroFeatures(text.dim)
    store = open_store(task.cache_dir)
    if condition.kind == "snr":
        from merbench.data.perturbed import Noise, noisy_test_set

        noisy = noisy_test_set(corpus, split.test, Noise(condition.snr_db, condition.noise))
        return store.get(noisy, config.encoders.audio.build(), device=task.device), text
    from merbench.features.transcripts import TextSource, with_text_source

    source = TextSource("asr", condition.asr_model)
    heard = with_text_source(subset(corpus, split.test), source, task.cache_dir)
    return audio, store.get(heard, config.encoders.text.build(), device=task.device)


def score_condition(
    model: Any, condition: Condition, task: RunTask, corpus: Corpus, split: Split, inputs: tuple
) -> Scored:
    """Scores and predictions of `model` on the test part of `split` under `condition`."""
    from merbench.train.batches import BatchMaker
    from merbench.train.loop import predict, predictions_frame, score
    from merbench.train.speakers import SpeakerNormalised

    config = task.config.train
    audio, text = inputs
    if config.speaker_norm and not isinstance(audio, ZeroFeatures):
        # test speakers' statistics from their test utterances, as in training
        audio = SpeakerNormalised(audio, corpus, Split(split.name, (), (), split.test))
    maker = BatchMaker(
        corpus, audio, text, config.max_frames, config.max_tokens, config.length_buckets
    )
    absent = getattr(model, "absent_modality", "zeros")
    scorer = model
    if condition.kind == "drop" and absent != "zeros":
        scorer = AbsentModality(model, condition.modality)
    probs, _ = predict(scorer, maker, split.test, config.batch_size, task.device)
    metrics = score(maker, split.test, probs, tuple(corpus.protocol.headline_metrics))
    frame = predictions_frame(corpus, split.test, probs, maker.multilabel)
    return Scored({f"test/{k}": v for k, v in metrics.items()}, with_groups(frame, corpus))


def load_model(task: RunTask, run_id: str, dims: tuple[int, int, int]) -> Any:
    """The run's model with its selected weights (the `WEIGHTS` artifact) loaded, in eval mode."""
    from safetensors.torch import load

    with tempfile.TemporaryDirectory() as tmp:
        path = tracking.client(task.tracking_uri).download_artifacts(run_id, WEIGHTS, tmp)
        state = load(Path(path).read_bytes())
    model = model_factory(task.config)(*dims)
    model.load_state_dict(state)
    return model.to(task.device).eval()


def evaluate_run(
    task: RunTask, run_id: str, conditions: list[Condition], done: list[str]
) -> list[str]:
    """Evaluate the finished run `run_id` of `task` under `conditions` (those not in `done`),
    logging each into the run (module docstring); the slugs done afterwards."""
    corpus = load_corpus(task.dataset, task.cache_dir)
    audio, text, usable = run_inputs(task, corpus)
    split = corpus.protocol.split(task.split).keep(usable)
    model = load_model(task, run_id, (audio.dim, text.dim, len(corpus.protocol.labels)))
    client = tracking.client(task.tracking_uri)
    done = list(done)
    for condition in conditions:
        if condition.slug in done:
            continue
        inputs = condition_inputs(condition, task, corpus, split, audio, text)
        scored = score_condition(model, condition, task, corpus, split, inputs)
        log_condition(client, run_id, condition, scored)
        if condition.kind == "drop":
            absent = f"{task.config.model.name}: {getattr(model, 'absent_modality', 'zeros')}"
            client.set_tag(run_id, tracking.TAG + ABSENT_TAG, absent)
        done.append(condition.slug)
        client.set_tag(run_id, tracking.TAG + CONDITIONS_TAG, json.dumps(sorted(done)))
    return done


def log_condition(client: Any, run_id: str, condition: Condition, scored: Scored) -> None:
    """Log a condition's metrics and predictions into the run (its tag is the caller's)."""
    import time

    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    metrics = [
        Metric(f"{PREFIX}{condition.slug}/{k}", float(v), now, 0) for k, v in scored.metrics.items()
    ]
    client.log_batch(run_id, metrics=metrics)
    with tempfile.TemporaryDirectory() as tmp:
        scored.predictions.to_parquet(Path(tmp) / "predictions.parquet", index=False)
        client.log_artifacts(run_id, tmp, f"conditions/{condition.slug}")


def finished_runs_done(uri: str, run_keys: set[str]) -> dict[str, tuple[str, list[str]]]:
    """run key -> (its newest FINISHED run id, the conditions done in it)."""
    frame = tracking.search(uri, "attributes.status = 'FINISHED'")
    if frame.empty:
        return {}
    if "start_time" in frame:
        frame = frame.sort_values("start_time", kind="stable")  # the newest last: it wins
    key_col, cond_col = f"tags.{tracking.TAG}run_key", f"tags.{tracking.TAG}{CONDITIONS_TAG}"
    out: dict[str, tuple[str, list[str]]] = {}
    for _, row in frame.iterrows():
        if row[key_col] in run_keys:
            tag = row.get(cond_col)
            done = json.loads(tag) if isinstance(tag, str) and tag else []
            out[row[key_col]] = (str(row["run_id"]), done)
    return out


def has_weights(uri: str, run_id: str) -> bool:
    """Whether the run stored its selected weights (the `WEIGHTS` artifact)."""
    return WEIGHTS in {a.path for a in tracking.client(uri).list_artifacts(run_id)}


@dataclass
class Evaluation:
    """What `evaluate_tasks` did: runs evaluated, runs already complete, runs without weights."""

    evaluated: int = 0
    complete: int = 0
    without_weights: list[RunTask] = field(default_factory=list)


def evaluate_tasks(
    tasks: list[RunTask],
    conditions: tuple[Condition, ...],
    on_run: Callable[[RunTask, int, int], None] | None = None,
) -> Evaluation:
    """Evaluate every finished run of `tasks` under each of `conditions` it lacks, in this
    process. A run that finished without stored weights cannot be (it would need training
    again): it is listed in ``without_weights`` and left as it is."""
    result = Evaluation()
    if not conditions or not tasks:
        return result
    uri = tasks[0].tracking_uri
    runs = finished_runs_done(uri, {t.run_key for t in tasks})
    wanted = [c.slug for c in conditions]
    todo = []
    for task in tasks:
        if task.run_key not in runs:
            continue  # not finished (failed or held elsewhere): the sweep reports it
        run_id, done = runs[task.run_key]
        if all(s in done for s in wanted):
            result.complete += 1
        elif not has_weights(uri, run_id):
            result.without_weights.append(task)
        else:
            todo.append((task, run_id, done))
    for n, (task, run_id, done) in enumerate(todo):
        if on_run is not None:
            on_run(task, n, len(todo))
        evaluate_run(task, run_id, list(conditions), done)
        result.evaluated += 1
    return result


def load_condition_predictions(run_id: str, uri: str) -> pd.DataFrame:
    """Per-utterance test predictions of run ``<id>`` (clean) or ``<id>@<slug>`` (under the
    condition `slug`)."""
    base, _, slug = run_id.partition("@")
    if not slug:
        return tracking.load_predictions(base, uri)
    with tempfile.TemporaryDirectory() as tmp:
        name = f"conditions/{slug}/predictions.parquet"
        return pd.read_parquet(tracking.client(uri).download_artifacts(base, name, tmp))

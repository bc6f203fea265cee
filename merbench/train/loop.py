"""One run: train a model on one split with one seed, select on dev, score test once.

`train_one` is a plain function with explicit inputs (corpus, split, features, model factory, training
config, seed, device) and returns a `RunResult` (metrics on dev and test, per-utterance predictions,
training curves). It touches the test split exactly once, after model selection on dev.
"""

from __future__ import annotations

import copy
import dataclasses
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from merbench.data.base import Corpus, Split
from merbench.data.metrics import compute_metrics
from merbench.data.slices import slice_scores
from merbench.errors import UserError
from merbench.models.base import MERModel
from merbench.models.linear import FittedModel
from merbench.train.balance import BalanceLog, BalanceMeter
from merbench.train.batches import BatchMaker, Features
from merbench.train.config import TrainConfig
from merbench.train.fitted import fit_model
from merbench.train.guards import check_finite, check_trained
from merbench.train.optim import make_optimiser
from merbench.train.precision import Precision
from merbench.train.selection import Selection, lr_factor
from merbench.train.speakers import SpeakerNormalised, TrainingStandardised


@dataclass
class RunResult:
    """What one run produced.

    `metrics` maps ``dev/<metric>`` and ``test/<metric>`` to values in [0, 1]; `predictions` has
    columns ``id, label, prediction, prob/<class>`` (+ ``consistent`` when the corpus records it);
    `curves` lists per-epoch dicts (``epoch, train/loss, train/<term>, dev/<metric>``);
    `balance` the loss balance measured on the first training steps (`merbench.train.balance`);
    `weights` the state dict of the selected model (what scored the test split).
    """

    metrics: dict[str, float]
    predictions: pd.DataFrame
    curves: list[dict[str, float]]
    best_epoch: int
    seconds: float
    embeddings: np.ndarray | None = None
    balance: BalanceLog = field(default_factory=BalanceLog)
    precision: str = "fp32"  # the resolved precision the run trained in (fp32, bf16, fp16)
    weights: dict[str, torch.Tensor] | None = None  # the selected state dict, on the CPU


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) for a reproducible run."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)


@torch.no_grad()
def predict(
    model: MERModel,
    maker: BatchMaker,
    ids: tuple[str, ...],
    batch_size: int,
    device: str,
    precision: Precision | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Class probabilities ``[N, C]`` and fused embeddings ``[N, D]`` for `ids`, in order
    (forward under `precision`'s autocast; fp32 when None)."""
    model.eval()
    precision = precision or Precision("fp32", device)
    probs, embeds, order = [], [], []
    for batch in maker.batches(ids, batch_size):
        order += batch.ids
        batch = batch.to(device)
        with precision.autocast():
            logits, embed = model.logits(batch).float(), model.embed(batch).float()
        p = torch.sigmoid(logits) if maker.multilabel else torch.softmax(logits, -1)
        probs.append(p.cpu().numpy())
        embeds.append(embed.cpu().numpy())
    where = {utt: k for k, utt in enumerate(order)}  # batches come in length order
    back = np.array([where[i] for i in ids])
    return np.concatenate(probs)[back], np.concatenate(embeds)[back]


#: Metrics logged for every run besides the protocol's headline metrics.
EXTRA_METRICS = ("ua", "wa", "wf1", "macro_f1")


def score(
    maker: BatchMaker, ids: tuple[str, ...], probs: np.ndarray, headline: tuple[str, ...]
) -> dict[str, float]:
    """The protocol's `headline` metrics (``avg`` = their mean) plus `EXTRA_METRICS`, for `ids`."""
    y_true = maker.label_tensor(ids).numpy()
    y_pred = (probs > 0.5).astype(int) if maker.multilabel else probs.argmax(1)
    scores = compute_metrics(y_true, y_pred, len(maker.labels), headline)
    extra = tuple(m for m in EXTRA_METRICS if m not in scores)
    scores.update(compute_metrics(y_true, y_pred, len(maker.labels), extra))
    return scores


def predictions_frame(
    corpus: Corpus, ids: tuple[str, ...], probs: np.ndarray, multilabel: bool
) -> pd.DataFrame:
    """Per-utterance predictions of `ids` as a DataFrame (class names, not indices)."""
    labels = corpus.protocol.labels
    pred = probs.argmax(1)
    frame = pd.DataFrame(
        {
            "id": list(ids),
            "label": [corpus[i].label for i in ids],
            "prediction": [labels[k] for k in pred],
        }
    )
    for k, lab in enumerate(labels):
        frame[f"prob/{lab}"] = probs[:, k]
    if any("consistent" in corpus[i].meta for i in ids):
        frame["consistent"] = [bool(corpus[i].meta.get("consistent", True)) for i in ids]
    return frame


def train_one(
    make_model: Callable[[int, int, int], MERModel],
    corpus: Corpus,
    split: Split,
    audio: Features,
    text: Features,
    config: TrainConfig,
    seed: int,
    device: str = "cpu",
    on_epoch: Callable[[dict[str, float]], None] | None = None,
    balance_steps: int = 10,
    balance_every: int = 50,
    batch_maker: type[BatchMaker] = BatchMaker,
    large_model: bool = False,
) -> RunResult:
    """Train ``make_model(audio_dim, text_dim, num_classes)`` on `split` and return its results.

    Early stopping: after each epoch the dev split is scored; the weights with the best smoothed
    `select_metric` are kept and training stops as `merbench.train.selection` says. A model
    fitted by a solver (`merbench.models.linear.FittedModel`) is fitted instead
    (`merbench.train.fitted`). The loss balance is measured on the first `balance_steps` steps
    (0: not measured) and then on one step in every `balance_every` (0: never); it does not
    change training. `batch_maker` builds the batches (default: padded cached features;
    `merbench.train.raw.RawBatchMaker`: raw inputs of fine-tuned backbones). A non-finite loss
    term, a run without any optimiser step, or a run whose selected weights are the untrained
    ones raises `merbench.train.guards.RunFailed` (see there). `large_model`: whether the model
    is large enough for bf16 autocast to pay on a CPU, for ``precision = auto``
    (`merbench.device.resolve_precision`).
    """
    started = time.perf_counter()
    precision = Precision.resolve(config.precision, device, large_model)
    seed_everything(seed)
    protocol = corpus.protocol
    metrics = tuple(protocol.headline_metrics)
    select = config.select_metric or metrics[0]
    if config.speaker_norm:
        if batch_maker is not BatchMaker:
            raise UserError("train.speaker_norm standardises cached features: not with --finetune")
        audio = SpeakerNormalised(audio, corpus, split)
    if config.standardise:
        if batch_maker is not BatchMaker:
            raise UserError("train.standardise standardises cached features: not with --finetune")
        audio = TrainingStandardised(audio, split)
    maker = batch_maker(
        corpus, audio, text, config.max_frames, config.max_tokens, config.length_buckets
    )
    model = make_model(audio.dim, text.dim, len(protocol.labels)).to(device)
    meter = BalanceMeter(model, balance_steps, every=balance_every)
    if isinstance(model, FittedModel):
        curves, best_epoch = fit_model(
            model,
            maker,
            split.train,
            split.dev,
            config.batch_size,
            device,
            lambda probs: score(maker, split.dev, probs, metrics),
            select,
        )
    else:
        curves, best_epoch = descend(
            model, maker, split, config, seed, device, precision, meter, metrics, select, on_epoch
        )
    dev_probs, _ = predict(model, maker, split.dev, config.batch_size, device, precision)
    test_probs, test_embeds = predict(
        model, maker, split.test, config.batch_size, device, precision
    )
    result_metrics = {f"dev/{k}": v for k, v in score(maker, split.dev, dev_probs, metrics).items()}
    result_metrics.update(
        {f"test/{k}": v for k, v in score(maker, split.test, test_probs, metrics).items()}
    )
    predictions = predictions_frame(corpus, split.test, test_probs, maker.multilabel)
    inconsistent = slice_scores(predictions, "inconsistent", ("ua", "wa"))
    result_metrics.update({f"test_inconsistent/{k}": v for k, v in inconsistent.items()})
    return RunResult(
        metrics=result_metrics,
        predictions=predictions,
        curves=curves,
        best_epoch=best_epoch,
        seconds=time.perf_counter() - started,
        embeddings=test_embeds,
        balance=meter.log(),
        precision=precision.name,
        weights={k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
    )


def class_weights(maker: BatchMaker, train: tuple[str, ...], rule: str) -> torch.Tensor | None:
    """The per-class loss weights ``[C]`` of ``train.class_weight`` = `rule`: None for ``none``;
    for ``balanced`` ``N / (C * n_c)`` with n_c the training utterances of class c (0 for a class
    without any: it has no term to weight). Multi-label protocols: `UserError`."""
    if rule == "none":
        return None
    if maker.multilabel:
        raise UserError("train.class_weight = balanced: single-label protocols only")
    counts = torch.bincount(maker.label_tensor(train), minlength=len(maker.labels)).double()
    weights = len(train) / (len(maker.labels) * counts.clamp_min(1.0))
    return torch.where(counts > 0, weights, torch.zeros_like(weights)).float()


def descend(
    model: MERModel,
    maker: BatchMaker,
    split: Split,
    config: TrainConfig,
    seed: int,
    device: str,
    precision: Precision,
    meter: BalanceMeter,
    metrics: tuple[str, ...],
    select: str,
    on_epoch: Callable[[dict[str, float]], None] | None = None,
) -> tuple[list[dict[str, float]], int]:
    """Gradient training of `model` on ``split.train`` with model selection on ``split.dev``
    (`merbench.train.selection`); loads the selected weights and returns ``(curves, best
    epoch)``. Raises `RunFailed` on a non-finite loss or a run that never trained."""
    optimiser = make_optimiser(model, config)
    steps_per_epoch = max(1, -(-len(split.train) // config.batch_size))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: lr_factor(step, config, steps_per_epoch)
    )
    rng = np.random.default_rng(seed)
    weights = class_weights(maker, split.train, config.class_weight)
    selection = Selection(config, copy.deepcopy(model.state_dict()))
    curves: list[dict[str, float]] = []
    total_steps = 0
    for epoch in range(config.max_epochs):
        model.train()
        sums: dict[str, float] = {}
        steps = 0
        for batch in maker.batches(split.train, config.batch_size, rng):
            if len(batch) < 2:  # contrastive and pair terms need two samples
                continue
            batch = dataclasses.replace(batch, class_weights=weights).to(device)
            with precision.autocast():
                losses = model.losses(batch)
            check_finite(losses, epoch=epoch, step=total_steps)
            meter.measure(losses)
            optimiser.zero_grad(set_to_none=True)
            precision.step(losses["total"], optimiser, model.parameters(), config.grad_clip)
            schedule.step()
            for name, value in losses.items():
                sums[name] = sums.get(name, 0.0) + float(value.detach())
            steps += 1
            total_steps += 1
        dev_probs, _ = predict(model, maker, split.dev, config.batch_size, device, precision)
        dev_scores = score(maker, split.dev, dev_probs, metrics)
        row = {"epoch": float(epoch)}
        row.update({f"train/{k}": v / max(steps, 1) for k, v in sums.items()})
        row.update({f"dev/{k}": v for k, v in dev_scores.items()})
        curves.append(row)
        if on_epoch is not None:
            on_epoch(row)
        selection.add(epoch, dev_scores[select], model.state_dict())
        if selection.stop():
            break
    selection.finish()
    check_trained(
        total_steps, selection.best_epoch, batch_size=config.batch_size, train_size=len(split.train)
    )
    model.load_state_dict(selection.best_state)
    return curves, selection.best_epoch

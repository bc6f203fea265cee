"""Training hyperparameters of one run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from merbench.bounds import AT_LEAST_ONE, NON_NEGATIVE, Range
from merbench.device import PrecisionName

#: TrainConfig fields written into a run's identity only when not at their default.
KEYED_WHEN_SET = ("class_weight", "standardise")


@dataclass
class TrainConfig:
    """Optimisation of one run. Defaults suit small adapters on frozen features on a CPU.

    Model selection (early stopping and the checkpoint kept) uses the dev split only, on
    `select_metric` ('' = the protocol's first headline metric); the test split is scored once, at
    the end, with the selected weights.

    Selection rule: an epoch's dev score is the mean of `select_metric` over the last `smooth`
    epochs (1: the epoch's own score); the weights of the epoch with the best such score are kept
    (ties: the earlier epoch). Training stops once no epoch improved it for ``max(patience,
    ceil(patience_frac * max_epochs))`` epochs, never before `min_epochs` epochs.
    Learning rate: linear warm-up over the first `warmup_epochs` epochs, then `lr_schedule`
    (``constant``, or ``cosine`` decay to 0 at `max_epochs`), stepped per optimiser step.
    `speaker_norm`: standardise every feature dimension per speaker before the model sees it
    (`merbench.train.speakers`; transductive on the dev and test speakers). `standardise`:
    standardise every audio feature dimension with the training utterances' mean and std (not
    transductive; `merbench.train.speakers.TrainingStandardised`).
    `class_weight`: ``balanced`` weights each class's cross-entropy by ``N / (C * n_c)`` (n_c its
    training utterances, as scikit-learn's ``balanced``), what the unweighted-accuracy metric
    rewards on an imbalanced corpus; ``none`` leaves the loss unweighted. It applies to models
    trained by gradient steps (a solver-fitted model has its own option) and to single-label
    protocols.

    Fields in `KEYED_WHEN_SET` enter a run's identity only when they differ from their default,
    so the run keys of configurations that do not use them stay what they were before they
    existed.
    """

    optimizer: Literal["adamw", "adam"] = "adamw"
    lr: float = 1e-3
    weight_decay: float = 1e-2
    batch_size: int = 32
    max_epochs: int = 30
    patience: int = 6
    # measured on EmoDB's dev splits (docs/commands.md, "Model selection"): the dev score moves
    # by 4.9 UA points from one epoch to the next, and still rises after epoch 40
    patience_frac: float = field(default=0.5, metadata={"range": Range(ge=0, le=1)})
    min_epochs: int = field(default=0, metadata={"range": NON_NEGATIVE})
    smooth: int = field(default=5, metadata={"range": AT_LEAST_ONE})
    warmup_epochs: int = field(default=0, metadata={"range": NON_NEGATIVE})
    lr_schedule: Literal["constant", "cosine"] = "constant"
    speaker_norm: bool = False
    class_weight: Literal["none", "balanced"] = "none"
    standardise: bool = False
    grad_clip: float = 1.0
    select_metric: str = ""
    max_frames: int = 1024  # audio frames kept per utterance (longer inputs are cropped centrally)
    max_tokens: int = 128
    # autocast dtype: auto = bf16 on a GPU that has it, fp16 + gradient scaler on one without; on a
    # CPU bf16 only where native (AVX-512/AMX) and for a large model (d >= 256), else fp32
    # (merbench.device.resolve_precision)
    # True: batches group utterances of similar length, shuffled (merbench.train.sampler); False
    # (default): a plain random permutation per epoch, padded to the longest of each batch. Off by
    # default because where length carries the label (synth: happy and angry voices speak at
    # ~210 words/min, sad and neutral at ~150) buckets make batches near single-class: `make demo` (concat) falls from UA 58.7 to 48.0 with them on
    length_buckets: bool = False
    precision: PrecisionName = "auto"

"""Training hyperparameters of one run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from merbench.device import PrecisionName


@dataclass
class TrainConfig:
    """Optimisation of one run. Defaults suit small adapters on frozen features on a CPU.

    Model selection (early stopping and the checkpoint kept) uses the dev split only, on
    `select_metric` ('' = the protocol's first headline metric); the test split is scored once, at
    the end, with the selected weights.
    """

    optimizer: Literal["adamw", "adam"] = "adamw"
    lr: float = 1e-3
    weight_decay: float = 1e-2
    batch_size: int = 32
    max_epochs: int = 30
    patience: int = 6
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

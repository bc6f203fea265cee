"""The Typer application, its consoles, and the options several commands share.

Nothing heavy is imported here (see `merbench.cli`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from merbench.errors import UserError

app = typer.Typer(
    help=(
        "Benchmark harness for multimodal (speech + text) emotion recognition. Runs are tracked "
        "in ./results (results/mlflow.db and artifacts) of the folder you run it from; "
        "$MERBENCH_RESULTS or --tracking-uri change that."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
features_app = typer.Typer(help="Manage the feature store (encode a corpus once, reuse it).")
datasets_app = typer.Typer(help="Inspect and validate corpora.", no_args_is_help=True)
app.add_typer(features_app, name="features")
app.add_typer(datasets_app, name="datasets")

console = Console(soft_wrap=True)  # messages are never broken mid-line (grep-able logs)
err_console = Console(stderr=True, soft_wrap=True)

# -- options shared by several commands -----------------------------------------------------
Plugin = Annotated[
    list[str] | None,
    typer.Option("--plugin", help="Import MODULE first (its decorators register plugins)."),
]
TrackingUri = Annotated[
    str | None,
    typer.Option(
        help="MLflow store (default: $MLFLOW_TRACKING_URI, else ./results/mlflow.db in the "
        "working folder, or in $MERBENCH_RESULTS)."
    ),
]
CacheDir = Annotated[
    Path | None, typer.Option(help="Cache root (default: $MERBENCH_CACHE or ~/.cache/merbench).")
]
Dataset = Annotated[str, typer.Option(help="Dataset plugin (merbench list datasets).")]
DataRoot = Annotated[
    Path | None,
    typer.Option(help="Corpus folder in its distributed layout (default: $MERBENCH_DATA)."),
]
DatasetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--dataset-option",
        help="Loader option KEY=VALUE (e.g. classes=6); text=gold|asr|asr:MODEL picks the text.",
    ),
]
Seeds = Annotated[str, typer.Option(help="Seed count (3 = 0,1,2) or list (0,1,2).")]
Device = Annotated[str, typer.Option(help="auto (GPU when present), cpu, cuda or cuda:N.")]
Precision = Annotated[
    str | None,
    typer.Option(
        help="auto (bf16 where native, fp16 on GPUs without bf16, else fp32), fp32, bf16 or fp16; "
        "sets train.precision."
    ),
]
Executor = Annotated[str, typer.Option(help="Where runs execute (merbench list executors).")]
ExecutorOption = Annotated[
    list[str] | None,
    typer.Option("--executor-option", help="Executor option KEY=VALUE (e.g. partition=gpu)."),
]
Sets = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="Override ROLE.KEY=VALUE (e.g. fusion.layers=2, train.lr=1e-4, "
        "encoders.audio=whisper, encoders.audio.layer=6).",
    ),
]

Variant = Annotated[str | None, typer.Option(help="paper or code.")]
Finetune = Annotated[
    bool,
    typer.Option(
        "--finetune",
        help="Train the encoders' backbones end to end on raw waveforms and token ids (no feature "
        "store): encoders.audio must be a wav2vec2-family hf:MODEL, encoders.text an hf:MODEL or "
        "minilm (--set encoders.audio=hf:/path). Tune with --set adapter.backbone_lr=1e-5, "
        "adapter.freeze_layers=K, adapter.gradient_checkpointing=true. Costly: every step runs "
        "both backbones forward and backward; at paper scale a GPU job.",
    ),
]
Splits = Annotated[list[str] | None, typer.Option("--split", help="Only these splits.")]
ShowTable = Annotated[bool, typer.Option(help="Print the table at the end.")]
DryRun = Annotated[
    bool,
    typer.Option(help="Print the plan (what would run, what finished, what failed) and stop."),
]


def encoding_progress(progress: Any, bars: dict[str, int]) -> Callable[[str, int, int], None]:
    """A feature-extraction progress callback ``(label, done, total)``: one bar per encoder label
    on `progress` (a rich Progress), kept in `bars`."""

    def on_progress(label: str, done: int, total: int) -> None:
        if label not in bars:
            bars[label] = progress.add_task(f"encoding {label}", total=total)
        progress.update(bars[label], completed=done)

    return on_progress


def parse_pairs(items: list[str] | None, flag: str) -> dict[str, str]:
    """``["a=1", "b.c=x"]`` -> ``{"a": "1", "b.c": "x"}``; a malformed item is a UserError."""
    out: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UserError(f"{flag} {item!r}: expected KEY=VALUE")
        out[key.strip()] = value.strip()
    return out


def _load_plugins(plugins: list[str] | None) -> tuple[str, ...]:
    from merbench.registry import load_plugin_modules

    modules = tuple(plugins or ())
    load_plugin_modules(modules)
    return modules

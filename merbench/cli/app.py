"""The Typer application, its consoles, and the options several commands share.

Nothing heavy is imported here (see `merbench.cli`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import typer
from rich.console import Console
from typer._click import exceptions as clicks

from merbench.device import PrecisionName
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


def _expected(values: tuple[str, ...]) -> str:
    """``a or b`` for two values, ``a, b, c`` for more: the tail of a choice's error line."""
    return " or ".join(values) if len(values) == 2 else ", ".join(values)


def choice(flag: str, values: Any, **option: Any) -> Any:
    """A `typer.Option` for a fixed set of values, the `Literal` `values` that also annotates the
    parameter: ``--help`` lists them (``<on|off>``), and any other value is the usage error
    ``FLAG VALUE: expected A or B`` (one ``error:`` line, exit status 2, from `merbench.cli.main`)."""
    allowed: tuple[str, ...] = get_args(values)

    def parse(value: str) -> str:
        if value not in allowed:
            raise clicks.UsageError(f"{flag} {value}: expected {_expected(allowed)}")
        return value

    return typer.Option(flag, parser=parse, **option)


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


def perturb_option(help: str) -> Any:
    """The repeatable ``--perturb CONDITION`` option (`merbench.experiment.conditions`)."""
    return typer.Option("--perturb", metavar="CONDITION", help=help)


Perturb = Annotated[
    list[str] | None,
    perturb_option(
        "Also evaluate under a test-time condition, with the weights trained on clean input: "
        "snr=20,10,0[:white|pink|babble], drop=audio|text, text=asr[:MODEL]; repeatable."
    ),
]
Device = Annotated[str, typer.Option(help="auto (GPU when present), cpu, cuda or cuda:N.")]
Precision = Annotated[
    PrecisionName | None,
    choice(
        "--precision",
        PrecisionName,
        help="auto (bf16 where native, fp16 on GPUs without bf16, else fp32), fp32, bf16 or fp16; "
        "sets train.precision.",
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

#: the variants of a recipe (`merbench.experiment.recipes.VARIANTS`, kept equal by a test)
VariantName = Literal["paper", "code"]
Variant = Annotated[
    VariantName | None,
    choice(
        "--variant",
        VariantName,
        help="paper or code: the settings of the paper, or of its authors' code, where they differ.",
    ),
]
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

"""The `merbench` command line: thin Typer commands that parse, call one layer, print with rich.

Nothing heavy is imported at module level (torch, transformers, mlflow, the plugins): `merbench
--help` stays fast. Errors a user can cause (`UserError`) end the command with one line on stderr
naming the culprit and exit status 2.

The commands, all on `app.app`: run and ablate (`sweep`), list (here), table, plot, report and ui
(`report`), features and datasets (`corpora`).
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from merbench.cli import sweep  # noqa: F401  (registers run and ablate first, as in --help)
from merbench.cli.app import (  # noqa: F401  (parse_pairs: part of merbench.cli's interface)
    Plugin,
    _load_plugins,
    app,
    console,
    err_console,
    parse_pairs,
)
from merbench.errors import UserError

__all__ = ["app", "main"]


@app.callback()
def options(
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose", help="Show MLflow's and Alembic's INFO logging (silenced by default)."
        ),
    ] = False,
    offline: Annotated[
        bool,
        typer.Option(
            "--offline",
            help="Never reach a model hub: a Hugging Face model must be a local folder or already "
            "in the cache (as HF_HUB_OFFLINE=1). Without it, hf:<hub name> is downloaded.",
        ),
    ] = False,
) -> None:
    """Options of every command (before the command's name: merbench --offline run ...)."""
    if offline:
        from merbench import env

        env.force(env.OFFLINE)  # read by huggingface_hub at import, and by worker processes
    if verbose:
        os.environ["MERBENCH_VERBOSE"] = "1"  # read by tracking.quiet_mlflow, here and in workers


# -- list ---------------------------------------------------------------------------------------
@app.command("list")
def list_plugins(
    kind: Annotated[
        str | None,
        typer.Argument(
            metavar="KIND",
            help="One plugin kind, e.g. fusions; default all (every kind, by name).",
        ),
    ] = None,
    filter: Annotated[str, typer.Option("--filter", help="Wildcard on names, e.g. 'hf*'.")] = "*",
    plugin: Plugin = None,
) -> None:
    """Every registered plugin, by kind, with its source package and config defaults."""
    from rich.table import Table

    from merbench.experiment.recipes import list_catalogue
    from merbench.registry import REGISTRIES, registry

    _load_plugins(plugin)
    kinds = [registry(kind).kind] if kind else list(REGISTRIES)
    table = Table(title="merbench plugins", show_lines=False)
    for col in ("kind", "name", "source", "config"):
        table.add_column(col, overflow="fold")
    for k in kinds:
        for entry in REGISTRIES[k].entries(filter):
            fields = ", ".join(f"{n}={v!r}" for n, v in entry.config_fields().items())
            absent = getattr(entry.obj, "absent_modality", None) if k == "models" else None
            if absent:  # what a model does with a modality missing at test time
                fields = f"{fields}; absent modality: {absent}"
            name = entry.name + (f" ({', '.join(entry.aliases)})" if entry.aliases else "")
            table.add_row(k, name, entry.source, fields)
    console.print(table)
    if kind is None:
        console.print(f"recipes: {', '.join(list_catalogue('baselines'))}")
        console.print(f"grids: {', '.join(list_catalogue('grids'))}")


# registered after `list`, as in --help: table, plot, report, ui; then the features and datasets
# groups (app.py adds them)
from merbench.cli import corpora, report  # noqa: E402, F401


def main() -> None:
    """Entry point: run the Typer app. A UserError, and any usage error Click or Typer finds
    (unknown option or command, missing value, bad value), is one line ``error: ...`` on stderr
    and exit status 2 (`usage_error_line`)."""
    from typer._click import exceptions as clicks  # Typer's own copy of Click's exceptions

    from merbench import env
    from merbench.cli import lean

    env.apply(env.QUIET, env.THREADS)  # before anything imports torch
    if lean.wants_help(sys.argv):
        lean.import_rich_utils_lean()  # help without importing markdown-it and pygments
    try:
        # Click's errors come here instead of its error box; the name as a user types it
        code = app(standalone_mode=False, prog_name="merbench")
    except UserError as exc:
        _error_line(str(exc))
        sys.exit(2)
    except clicks.NoArgsIsHelpError:
        sys.exit(2)  # the help was printed, as for a bare `merbench`
    except clicks.ClickException as exc:
        _error_line(usage_error_line(exc))
        sys.exit(2 if isinstance(exc, clicks.UsageError) else exc.exit_code)
    except (KeyboardInterrupt, typer.Abort):
        err_console.print("interrupted: unfinished runs are marked failed and redone next time")
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


def usage_error_line(exc: Exception) -> str:
    """Click's message of a usage error on one line, after the command it concerns:
    ``merbench run: No such option: --seed (Possible options: --ed, --seeds, --set)``."""
    ctx = getattr(exc, "ctx", None)
    message = " ".join(exc.format_message().split())  # type: ignore[attr-defined]
    return f"{ctx.command_path}: {message}" if ctx is not None else message


def _error_line(message: str) -> None:
    from rich.markup import escape

    # escaped: a message naming "[train]" or "[V, A, D]" must not be read as rich markup
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)


if __name__ == "__main__":
    main()

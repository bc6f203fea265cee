"""``--perturb`` in `run`, `ablate` and `table`: evaluate the finished runs under test-time
conditions (`merbench.experiment.evaluate`) and print their table (`merbench.report.conditions`).
This module parses and prints."""

from __future__ import annotations

from typing import Any

from merbench.cli.app import console
from merbench.errors import UserError


def evaluate_conditions(tasks: list[Any], conditions: tuple[Any, ...]) -> list[Any]:
    """Evaluate the finished runs of `tasks` under the `conditions` each lacks; the runs that
    cannot be (finished without stored weights)."""
    if not conditions:
        return []
    from merbench.experiment.evaluate import evaluate_tasks

    def started(task: Any, n: int, total: int) -> None:
        if n == 0:
            names = ", ".join(c.label for c in conditions)
            console.print(f"evaluating {total} runs under {names}", highlight=False)
        console.print(f"evaluate {task.name} {task.split} seed {task.seed}", highlight=False)

    return evaluate_tasks(tasks, conditions, on_run=started).without_weights


def lacking_weights(runs: list[Any]) -> None:
    """A UserError naming the runs that could not be evaluated (none: nothing)."""
    if runs:
        t = runs[0]
        raise UserError(
            f"{len(runs)} finished runs stored no weights (trained by an older merbench), so "
            f"they cannot be evaluated under --perturb without training again (first: {t.name} "
            f"{t.split} seed {t.seed}); delete them from the store to train them again"
        )


def conditions_text(
    uri: str,
    runs: Any,
    conditions: tuple,
    fmt: str = "terminal",
    test: str | None = None,
    alpha: float = 0.05,
    grid: dict[str, Any] | None = None,
) -> str:
    """The conditions table of `runs` (chosen and named by the report layer) in `fmt`; with a
    `grid` spec, its rows in the grid's order."""
    from merbench.experiment import tracking
    from merbench.experiment.evaluate import load_condition_predictions
    from merbench.report.conditions import condition_extras, condition_tables, render_conditions

    frame = tracking.search(uri, "attributes.status = 'FINISHED'")
    extras = condition_extras(frame, tracking.TAG)
    tables = condition_tables(
        runs,
        extras,
        [(c.label, c.slug) for c in conditions],
        lambda run_id: load_condition_predictions(run_id, uri),
        test=test,
        alpha=alpha,
        order=[r["name"] for r in (grid or {}).get("rows", [])],
    )
    return render_conditions(tables, fmt)

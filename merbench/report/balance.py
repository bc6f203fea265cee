"""The loss-balance report: each weighted loss term's value and share of the gradient norm.

Reads the ``balance/<term>/value`` and ``balance/<term>/grad_share`` metrics that every run logs
(measured on its first training steps, `merbench.train.balance`) and the ``balance_warning`` tag,
and summarises them per configuration and term over folds and seeds.
"""

from __future__ import annotations

import pandas as pd

from merbench.errors import UserError
from merbench.report.aggregate import finished_runs

BALANCE_COLUMNS = ["dataset", "row", "term", "runs", "value", "grad_share", "max_share", "warned"]


def balance_frame(runs: pd.DataFrame) -> pd.DataFrame:
    """One record per (dataset, row, term): runs measured, mean value, mean and max gradient-norm
    share, and the number of runs whose warning named the term. No balance metrics: UserError."""
    runs = finished_runs(runs)
    terms = sorted(
        {c.split("/")[1] for c in runs.columns if c.startswith("balance/") and c.endswith("/value")}
    )
    if not terms:
        raise UserError("these runs logged no loss balance (runs made before merbench 0.2?)")
    warned = runs.get("balance_warning", pd.Series("", index=runs.index)).fillna("")
    records = []
    for (dataset, row), sub in runs.groupby(["dataset", "row"], sort=False):
        for term in terms:
            values = sub[f"balance/{term}/value"].dropna()
            shares = sub[f"balance/{term}/grad_share"].dropna()
            if values.empty:
                continue
            records.append({
                "dataset": dataset, "row": row, "term": term, "runs": int(values.size),
                "value": float(values.mean()), "grad_share": float(shares.mean()),
                "max_share": float(shares.max()),
                "warned": int((warned[sub.index] == term).sum()),
            })  # fmt: skip
    return pd.DataFrame.from_records(records, columns=BALANCE_COLUMNS)


def balance_markdown(frame: pd.DataFrame) -> str:
    """`balance_frame` as a Markdown table (shares in %), one line per (row, term)."""
    lines = [
        "| dataset | configuration | term | runs | value | grad share (%) | max share (%) | warned |",
        "|---|---|---|--:|--:|--:|--:|--:|",
    ]
    for r in frame.itertuples(index=False):
        lines.append(
            f"| {r.dataset} | {r.row} | {r.term} | {r.runs} | {r.value:.3g} | "
            f"{100 * r.grad_share:.1f} | {100 * r.max_share:.1f} | {r.warned} |"
        )
    note = (
        "Loss balance over the first training steps of each run: value = mean weighted loss "
        "term; grad share = mean share of the gradient norm on the shared parameters (adapters "
        "and fusion for DRKF), averaged over runs; max share = its largest value in one run; "
        "warned = runs in which this auxiliary term carried > 90%."
    )
    return "\n".join(lines) + "\n\n" + note

"""What tables say: metric names (the papers' and merbench's), metric definitions, the marks, and
the caption that states the protocol (datasets, folds or split, dev rule, seeds, definitions, the
test, its correction and alpha)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import pandas as pd

from merbench.report.aggregate import protocol_summary
from merbench.report.protocols import DatasetProtocol
from merbench.report.slices import SLICE_DEFINITIONS, SLICE_HEADERS, split_metric


class CaptionedView(Protocol):
    """What the caption reads of a table (`merbench.report.view.TableView` is one): rows have
    ``label``, ``kind``, ``source`` and ``cells`` (column -> cell with ``incomplete``, ``n``,
    ``n_expected``, ``missing``); plans have ``sentence()``."""

    @property
    def title(self) -> str: ...
    @property
    def show_std(self) -> bool: ...
    @property
    def rows(self) -> Sequence[Any]: ...
    @property
    def delta(self) -> Mapping[tuple[str, str], float | None] | None: ...
    @property
    def plans(self) -> Mapping[str, Any]: ...
    @property
    def columns(self) -> Sequence[tuple[str, str]]: ...
    @property
    def headers(self) -> Mapping[tuple[str, str], str]: ...
    @property
    def components(self) -> Sequence[str]: ...
    def title_of(self, dataset: str) -> str: ...


PAPER_NAMES = {
    "ua": "ACC", "wa": "WACC", "wf1": "WF1", "avg": "Avg", "precision": "Precision",
    "recall": "Recall", "micro_f1": "F1", "macro_f1": "MF1", "micro_precision": "Micro-P",
    "micro_recall": "Micro-R",
}  # fmt: skip
OUR_NAMES = {
    "ua": "UA", "wa": "WA", "wf1": "WF1", "avg": "Avg", "precision": "Precision",
    "recall": "Recall", "micro_f1": "Micro-F1", "macro_f1": "Macro-F1",
    "micro_precision": "Micro-P", "micro_recall": "Micro-R",
}  # fmt: skip
DEFINITIONS = {
    "ua": "UA = mean per-class recall",
    "wa": "WA = overall accuracy",
    "wf1": "F1 weighted by class support",
    "macro_f1": "unweighted mean of per-class F1",
    "micro_f1": "micro-averaged F1 (= WA for single-label data)",
    "precision": "macro-averaged precision",
    "recall": "macro-averaged recall",
    "micro_precision": "micro-averaged precision",
    "micro_recall": "micro-averaged recall",
    "avg": "mean of the dataset's other headline metrics",
}
DAGGER, DDAGGER, REPORTED_MARK = "\u2020", "\u2021", "*"


def metric_header(protocol: DatasetProtocol, metric: str, names: str = "paper") -> str:
    """Column header of `metric` on a dataset: the paper's name (default) or merbench's; a slice
    metric ``ua@inconsistent`` gets the slice's tag (``ACC (inc.)``)."""
    metric, piece = split_metric(metric)
    if piece is not None:
        return f"{metric_header(protocol, metric, names)} ({SLICE_HEADERS.get(piece, piece)})"
    if names == "paper":
        return protocol.paper_name(metric) or PAPER_NAMES.get(metric, metric)
    return OUR_NAMES.get(metric, metric)


def _split_text(protocol: DatasetProtocol, n_splits: int) -> str:
    """The splits run: the official split, the corpus's folds, or "k of n folds" when only some
    folds of a fold corpus were run (never called an official split)."""
    n_folds = len(protocol.splits)
    if protocol.split_scheme == "cross_corpus":
        return "one cross-corpus split (train on one corpus, test on all of the other)"
    if n_splits <= 1 and n_folds <= 1:
        return "the official train/dev/test split"
    scheme = " (leave one session out)" if "session" in protocol.split_scheme else ""
    if n_folds > n_splits:
        return f"{n_splits} of {n_folds} folds{scheme}"
    if scheme or "fold" in protocol.split_scheme:
        return f"{n_splits} folds{scheme}"
    return f"{n_splits} splits"


def caption(
    view: CaptionedView,
    runs: pd.DataFrame,
    protocols: dict[str, DatasetProtocol],
    reference: str | None,
    names: str,
    grid: dict | None,
) -> list[str]:
    lines = []
    std = " ± std" if view.show_std else ""
    lines.append(
        f"{view.title}: test-set metrics in %, mean{std} over folds and seeds"
        + (" (sample std, ddof = 1)." if view.show_std else ".")
    )
    for d, protocol in protocols.items():
        if runs.empty or d not in set(runs["dataset"]):
            lines.append(f"{protocol.display}: no measured runs.")
            continue
        summary = protocol_summary(runs, d)
        seeds = summary["seeds"]
        seed_text = (
            f"{len(seeds)} seed{'s' if len(seeds) != 1 else ''} ({', '.join(map(str, seeds))})"
        )
        lines.append(
            f"{protocol.display}: {_split_text(protocol, len(summary['splits']))} \u00d7 "
            f"{seed_text}; {protocol.dev_rule}; model selection on dev, never on test."
        )
    lines.append("Metrics: " + "; ".join(_definitions(view, names)) + ".")
    has_reported = any(r.kind == "reported" for r in view.rows)
    lines.append(
        "Bold: best; underlined: second best"
        + (" (measured and reported rows)." if has_reported else ".")
    )
    if view.delta is not None:
        if reference in (None, "best"):
            lines.append(
                "\u0394: relative improvement (%) of the best row over the second best "
                "(the paper's \u0394Sota)."
            )
        else:
            lines.append(
                f"\u0394: relative difference (%) of {reference} to the best other row "
                "(\u2191 ahead, \u2193 behind)."
            )
    for sentence in dict.fromkeys(p.sentence() for p in view.plans.values()):
        lines.append(sentence)
    if any(c.incomplete for r in view.rows for c in r.cells.values()):
        lines.append(
            f"{DDAGGER}: incomplete configuration, mean of the units it has "
            "(n of the expected (split, seed) units; see the CSV for the missing ones)."
        )
        first: dict[str, str] = {}
        for d, m in view.columns:
            first.setdefault(d, m)
        for r in view.rows:
            for (d, m), c in r.cells.items():
                if c.incomplete and first.get(d) == m:
                    lines.append(
                        f"  {r.label} on {d}: {c.n}/{c.n_expected} units, missing {c.missing}."
                    )
    if any(r.kind == "reported" for r in view.rows):
        sources = sorted({r.source for r in view.rows if r.kind == "reported"})
        lines.append(
            f"{REPORTED_MARK}: reported in {', '.join(sources)}, not measured here; "
            "excluded from significance tests."
        )
    if grid is not None and any(c.lower() in ("fe_c", "cross") for c in view.components):
        lines.append("FE_c (cross-attention fusion) is reconstructed: the paper gives no code.")
    models = set(runs["model"].astype(str)) if "model" in runs.columns else set()
    if any("fdrl" in m.lower() for m in models):
        lines.append("FDRL is reconstructed from the abstract.")
    for protocol in protocols.values():
        if protocol.note:
            lines.append(f"{protocol.display}: {protocol.note}.")
    empty = [r.label for r in view.rows if r.kind == "measured" and not r.cells]
    if empty:
        lines.append(f"No finished runs yet: {', '.join(empty)}.")
    return lines


def _definitions(view: CaptionedView, names: str) -> list[str]:
    by_header: dict[str, set[str]] = {}
    for col in view.columns:
        by_header.setdefault(view.headers[col], set()).add(col[1])
    out = []
    for col in view.columns:
        header, metric = view.headers[col], col[1]
        piece = split_metric(metric)[1]
        if piece is not None:
            text = SLICE_DEFINITIONS.get(piece, piece)
            if text not in out:
                out.append(text)
            continue
        definition = DEFINITIONS.get(metric, metric)
        own = OUR_NAMES.get(metric, metric)
        text = definition if definition.startswith(f"{own} =") else f"{own} = {definition}"
        if header != own:
            text = f"{header} = {text}"
        if len(by_header[header]) > 1:
            text = f"{text} ({view.title_of(col[0])})"
        if text not in out:
            out.append(text)
    return out

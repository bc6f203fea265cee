"""The protocol of each dataset in a table, read from the runs, never from ``datasets/``.

Every run logs the protocol it was scored with (`merbench.data.base.Protocol.record`, the tag
``merbench.protocol``, the runs table's ``protocol`` column, JSON): title, labels, headline and
ablation metrics, split scheme, dev rule, the names papers give a metric, a caption note, table
order. A dataset with no runs (a table of reported numbers only) takes what the reported tables
declare (`merbench.report.reported.reported_protocols`); a dataset with neither gets
`DatasetProtocol(dataset)`: its name as title and the headline ``ua, wa, avg``.

When the runs of one dataset name carry different protocols (M3ED single-label and multi-label,
IEMOCAP 4 and 6 classes), `split_protocols` gives each protocol its own dataset key (its title),
so their scores are never averaged together.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pandas as pd

DEFAULT_HEADLINE = ("ua", "wa", "avg")


@dataclass(frozen=True)
class DatasetProtocol:
    """What the report needs to know of a dataset's protocol (see the module docstring)."""

    dataset: str
    title: str = ""
    headline_metrics: tuple[str, ...] = DEFAULT_HEADLINE
    ablation_metrics: tuple[str, ...] = ()
    split_scheme: str = ""
    dev_rule: str = ""
    paper_names: tuple[tuple[str, str], ...] = ()
    note: str = ""
    order: int = 100
    labels: tuple[str, ...] = ()
    multilabel: bool = False
    splits: tuple[str, ...] = ()  # every split of the protocol (folds), run or not

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> DatasetProtocol:
        """From a logged record (`Protocol.record`) or a reported table's declaration."""
        return cls(
            dataset=str(record["dataset"]),
            title=str(record.get("title") or record["dataset"]),
            headline_metrics=tuple(record.get("headline_metrics") or DEFAULT_HEADLINE),
            ablation_metrics=tuple(record.get("ablation_metrics") or ()),
            split_scheme=str(record.get("split_scheme", "")),
            dev_rule=str(record.get("dev_rule", "")),
            paper_names=tuple(sorted(dict(record.get("paper_names") or {}).items())),
            note=str(record.get("note", "")),
            order=int(record.get("order", 100)),
            labels=tuple(record.get("labels") or ()),
            multilabel=bool(record.get("multilabel", False)),
            splits=tuple(str(s) for s in record.get("splits") or ()),
        )

    @property
    def display(self) -> str:
        return self.title or self.dataset

    def metrics(self, ablation: bool = False) -> list[str]:
        """Table columns: the headline metrics, or the ablation layout's (default: without avg)."""
        if ablation:
            return list(self.ablation_metrics or [m for m in self.headline_metrics if m != "avg"])
        return list(self.headline_metrics)

    def paper_name(self, metric: str) -> str | None:
        """The name papers give `metric` on this dataset (None: the metric's usual paper name)."""
        return dict(self.paper_names).get(metric)


@lru_cache(maxsize=256)
def parse_protocol(text: str) -> DatasetProtocol:
    """A `DatasetProtocol` from the JSON of a ``protocol`` column cell."""
    return DatasetProtocol.from_record(json.loads(text))


def _records(runs: pd.DataFrame, dataset: str) -> list[str]:
    if "protocol" not in runs.columns or runs.empty:
        return []
    cells = runs.loc[runs["dataset"] == dataset, "protocol"]
    return sorted({str(c) for c in cells if isinstance(c, str) and c})


def protocol_of(
    runs: pd.DataFrame, dataset: str, fallback: dict[str, Any] | None = None
) -> DatasetProtocol:
    """The protocol of `dataset`: from its runs, else `fallback` (a reported declaration)."""
    found = _records(runs, dataset)
    if found:
        return parse_protocol(found[0])
    if fallback:
        return DatasetProtocol.from_record({"dataset": dataset, **fallback})
    return DatasetProtocol(dataset, dataset)


def headline_metrics(runs: pd.DataFrame, dataset: str) -> list[str]:
    """The headline metrics `dataset`'s runs were scored with."""
    return protocol_of(runs, dataset).metrics()


def split_protocols(runs: pd.DataFrame) -> pd.DataFrame:
    """`runs` where a dataset whose runs carry several protocols gets one dataset key per protocol
    (its title, or ``<dataset>#<k>`` when titles agree); other datasets keep their name."""
    if "protocol" not in runs.columns or runs.empty:
        return runs
    out = runs
    for dataset in sorted(runs["dataset"].astype(str).unique()):
        found = _records(runs, dataset)
        if len(found) < 2:
            continue
        titles = [parse_protocol(t).display for t in found]
        distinct = len(set(titles)) == len(titles)
        out = out.copy() if out is runs else out
        for k, (text, title) in enumerate(zip(found, titles, strict=True)):
            key = title if distinct and title != dataset else f"{dataset}#{k + 1}"
            mask = (out["dataset"] == dataset) & (out["protocol"] == text)
            out.loc[mask, "dataset"] = key
    return out


def matches(runs: pd.DataFrame, key: str, requested: str) -> bool:
    """Whether the dataset key `key` (see `split_protocols`) answers a request for `requested`."""
    if key.lower() == requested.lower():
        return True
    found = _records(runs, key)
    return bool(found) and parse_protocol(found[0]).dataset.lower() == requested.lower()

"""The corpus contract: utterance records, splits, protocols, and the base class of corpus loaders.

A loader (a plugin on the `datasets` axis) reads a corpus in the layout in which it is distributed and
returns a `Corpus`: its `Utterance` records, its `Protocol` (label set, splits, dev rule, headline
metrics, read from the dataset card `datasets/<name>.toml`) and the list of what it skipped, each with
a reason. Nothing is dropped silently.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Utterance:
    """One labelled utterance.

    `group` is the session (IEMOCAP, synth) or dialogue (MELD, M3ED) it belongs to; `audio` is a path
    to a media file (decoded on demand) or None; `labels` holds the multi-label set where the protocol
    has one; `meta` carries corpus-specific facts (e.g. synth's ``consistent`` flag).
    """

    id: str
    speaker: str
    group: str
    text: str
    audio: Path | None
    label: str
    labels: tuple[str, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class Split:
    """One train/dev/test partition of a corpus (an IEMOCAP fold, MELD's official split, ...)."""

    name: str
    train: tuple[str, ...]
    dev: tuple[str, ...]
    test: tuple[str, ...]

    def keep(self, usable: Any) -> Split:
        """This split without the ids not in `usable` (a container: e.g. the ids whose media
        could be decoded); a part left empty is a UserError naming the split."""
        from merbench.errors import UserError

        parts = {
            p: tuple(i for i in getattr(self, p) if i in usable) for p in ("train", "dev", "test")
        }
        for part, ids in parts.items():
            if getattr(self, part) and not ids:
                raise UserError(f"split {self.name}: no {part} utterance has usable features")
        return Split(self.name, parts["train"], parts["dev"], parts["test"])

    def check_disjoint(self) -> None:
        """Raise if any utterance id sits in two of train/dev/test."""
        a, b, c = set(self.train), set(self.dev), set(self.test)
        if a & b or a & c or b & c:
            raise ValueError(f"split {self.name}: train/dev/test overlap")


@dataclass(frozen=True)
class Protocol:
    """How a corpus is scored: labels (in class-index order), splits, dev rule, headline metrics."""

    labels: tuple[str, ...]
    splits: tuple[Split, ...]
    headline_metrics: tuple[str, ...]
    dev_rule: str
    description: str = ""
    multilabel: bool = False
    #: How tables present the corpus (all from the card, so the report needs no per-dataset code):
    #: short title for column groups, metrics of the ablation layout (default: headline without
    #: avg), split scheme (``leave_one_session_out``, ``official``, ...), header names the papers
    #: give a metric on this corpus (``(("wa", "ACC"),)`` on M3ED), a caption note, table order.
    title: str = ""
    ablation_metrics: tuple[str, ...] = ()
    split_scheme: str = ""
    paper_names: tuple[tuple[str, str], ...] = ()
    note: str = ""
    order: int = 100

    def split(self, name: str) -> Split:
        for s in self.splits:
            if s.name == name:
                return s
        from merbench.errors import UserError

        valid = ", ".join(s.name for s in self.splits)
        raise UserError(f"unknown split {name!r}; valid: {valid}")

    def record(self, dataset: str) -> dict[str, Any]:
        """The protocol as plain JSON-able data, logged with every run (the report reads it back):
        dataset, title, labels, metrics, split scheme and names, dev rule, paper names, note."""
        return {
            "dataset": dataset,
            "title": self.title or dataset,
            "labels": list(self.labels),
            "multilabel": self.multilabel,
            "headline_metrics": list(self.headline_metrics),
            "ablation_metrics": list(
                self.ablation_metrics or [m for m in self.headline_metrics if m != "avg"]
            ),
            "split_scheme": self.split_scheme,
            "splits": [s.name for s in self.splits],
            "dev_rule": self.dev_rule,
            "paper_names": dict(self.paper_names),
            "note": self.note,
            "order": self.order,
        }


@dataclass(frozen=True)
class Skip:
    """An utterance (or file) the loader could not use, and why."""

    id: str
    reason: str


@dataclass
class Corpus:
    """A loaded corpus: records, protocol, what was skipped with reasons, what the protocol excluded.

    A `Skip.reason` starts with its category before a colon (``"missing audio: <path>"``), so reports
    can count skips per category.
    """

    name: str
    utterances: list[Utterance]
    protocol: Protocol
    skipped: list[Skip] = field(default_factory=list)
    root: Path | None = None
    #: Records the protocol leaves out by design (e.g. IEMOCAP's ``fru`` in the 4-class protocol):
    #: raw label -> count. Not problems, so not in `skipped`, but counted, never silently dropped.
    excluded: dict[str, int] = field(default_factory=dict)
    #: What the reader did that the user should know although nothing was lost (a misnamed file
    #: read under the name its scheme gives it, a label spelling mapped to the card's), one line each.
    notes: list[str] = field(default_factory=list)
    #: What this copy lacks against the release's expected counts (the card's ``[release]``), one
    #: line each: the total first, then each speaker and class short of its count. Problems.
    shortfall: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._by_id = {u.id: u for u in self.utterances}
        self._fingerprint: str | None = None

    def __len__(self) -> int:
        return len(self.utterances)

    def __getitem__(self, utt_id: str) -> Utterance:
        return self._by_id[utt_id]

    def counts(self) -> dict[str, Counter]:
        """Per split name and part (``fold1/test``): label counts."""
        out: dict[str, Counter] = {}
        for split in self.protocol.splits:
            for part in ("train", "dev", "test"):
                ids = getattr(split, part)
                out[f"{split.name}/{part}"] = Counter(self._by_id[i].label for i in ids)
        return out

    def fingerprint(self) -> str:
        """SHA-256 over every record's identity and content (id, text, label, and the audio file's
        name, size and content hash).

        It changes whenever the corpus content changes (a wav replaced by other audio of the same
        length included), so it keys the feature store and the runs; it does not depend on where
        the corpus lives or on file times, so two copies of the same release agree. Media are
        hashed once and the digests cached per file (`merbench.data.fingerprint`); computed once
        per `Corpus` object.
        """
        if self._fingerprint is not None:
            return self._fingerprint
        from merbench.data.fingerprint import content_hashes

        digests = content_hashes(Path(u.audio) for u in self.utterances if u.audio is not None)
        h = hashlib.sha256(self.name.encode())
        for u in sorted(self.utterances, key=lambda u: u.id):
            audio = ""
            if u.audio is not None:
                path = Path(u.audio)
                try:
                    audio = f"{path.name}:{path.stat().st_size}:{digests[path]}"
                except OSError:
                    audio = f"{path.name}:missing"
            h.update(json.dumps([u.id, u.text, u.label, audio], ensure_ascii=False).encode())
        self._fingerprint = h.hexdigest()
        return self._fingerprint

    def load_audio(self, utt: Utterance, sample_rate: int) -> np.ndarray:
        """The waveform of `utt` as float32 mono at `sample_rate` (see `merbench.data.audio`)."""
        from merbench.data.audio import read_audio

        if utt.audio is None:
            raise ValueError(f"{utt.id}: no audio")
        return read_audio(Path(utt.audio), sample_rate)


class CorpusLoader:
    """Base class of `datasets` plugins.

    Contract: ``Loader(config).load(root: Path | None) -> Corpus``. `config` is the plugin's config
    dataclass (card options such as the class set or ``on_missing``); `root` is the corpus folder in
    its distributed layout (None for generated corpora such as ``synth``). Errors in the files raise
    `merbench.errors.UserError` naming the file and line; unusable utterances are recorded in
    `Corpus.skipped` with a reason (or raise when ``on_missing == "fail"``).
    """

    def __init__(self, config: Any) -> None:
        self.config = config

    def load(self, root: Path | None) -> Corpus:  # pragma: no cover - abstract
        raise NotImplementedError

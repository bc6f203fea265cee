"""Two corpora as one cross-corpus protocol: train and select on one, test on all of the other.

Labels meet on the basic emotions (`BASIC_EMOTIONS`): each dataset card maps its labels onto them
in its ``[shared_labels]`` table (``joy = "happy"`` on MELD, ``fearful = "fear"`` on RAVDESS); a
label the table leaves out (EmoDB's ``boredom``, RAVDESS's ``calm``) has no counterpart. The
classes of a pair are the basic emotions both corpora reach, in `BASIC_EMOTIONS` order; every
utterance of either corpus whose label maps outside them is excluded, and counted per corpus and
label (`Meeting.excluded`).

The training corpus gives its training and dev data: the dev part of its first split (its dev
rule, e.g. session 2 for leave-one-session-out, the official dev split for MELD) selects the
model, and every other utterance of it trains. The test corpus is tested whole. So there is one
split (`CROSS_SPLIT`) and one test set, and the seeds are the units of a test between
configurations. `join` builds that protocol as a `JoinedCorpus`: the training corpus's ids and
speakers carry the prefix ``<train name>:`` (the test corpus's ids stay as they are, so
predictions name them as the corpus does).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from merbench.data.base import Corpus, Protocol, Split, Utterance
from merbench.data.card import card_path, load_card
from merbench.errors import UserError

#: The labels corpora meet on, in class-index order.
BASIC_EMOTIONS = ("neutral", "happy", "sad", "angry", "fear", "disgust", "surprise")
#: The one split of a cross-corpus protocol.
CROSS_SPLIT = "cross"


def shared_labels(name: str, labels: tuple[str, ...]) -> dict[str, str]:
    """``{label: basic emotion}`` for the `labels` of corpus `name` that its card's
    ``[shared_labels]`` maps; a UserError when the card or the table is missing."""
    if not card_path(name).is_file():
        raise UserError(
            f"{name}: no dataset card (datasets/{name}.toml) maps its labels onto the shared "
            "emotions; a cross-corpus run needs its [shared_labels] table"
        )
    table = load_card(name).get("shared_labels")
    if not table:
        raise UserError(
            f"{name}: its dataset card has no [shared_labels] table mapping its labels onto "
            f"the shared emotions ({', '.join(BASIC_EMOTIONS)})"
        )
    return {label: str(table[label]) for label in labels if label in table}


@dataclass(frozen=True)
class Meeting:
    """How two corpora meet: their names, the shared classes, each corpus's label map (only the
    labels kept), the excluded counts (corpus -> raw label -> utterances) and the sizes of the
    training, dev and test parts."""

    train: str
    test: str
    shared: tuple[str, ...]
    labels: dict[str, dict[str, str]]
    excluded: dict[str, dict[str, int]]
    sizes: dict[str, int]
    dev_split: str

    def record(self) -> dict[str, Any]:
        """As plain JSON-able data (logged in the run's protocol record under ``cross``)."""
        return dataclasses.asdict(self) | {"shared": list(self.shared)}


def meeting_note(record: dict[str, Any]) -> str:
    """The caption sentence of a meeting record (`Meeting.record`): what trained, what tested,
    the mapping and the excluded counts."""
    train, test = record["train"], record["test"]
    rank = {basic: i for i, basic in enumerate(record["shared"])}

    def labels(name: str) -> str:
        pairs = sorted(record["labels"][name].items(), key=lambda kv: (rank[kv[1]], kv[0]))
        return ", ".join(f"{raw}={basic}" for raw, basic in pairs)

    def dropped(name: str) -> str:
        counts = sorted(record["excluded"][name].items(), key=lambda kv: (-kv[1], kv[0]))
        return ", ".join(f"{label} {n}" for label, n in counts) if counts else "none"

    maps = "; ".join(f"{name}: {labels(name)}" for name in (train, test))
    excluded = "; ".join(f"{name} {dropped(name)}" for name in (train, test))
    return (
        f"{train} -> {test}: trained on {train} outside the dev part of its "
        f"{record['dev_split']} (dev: model selection), tested on all of {test}; labels meet on "
        f"{', '.join(record['shared'])} ({maps}); excluded utterances: {excluded}"
    )


@dataclass(frozen=True)
class CrossProtocol(Protocol):
    """A `Protocol` whose record also carries the meeting (``cross``)."""

    meeting: dict[str, Any] = field(default_factory=dict, compare=False)

    def record(self, dataset: str) -> dict[str, Any]:
        return {**super().record(dataset), "cross": self.meeting}


@dataclass
class JoinedCorpus(Corpus):
    """The corpus of a cross-corpus protocol; `parts` are ``(id prefix, source corpus)``."""

    parts: tuple[tuple[str, Corpus], ...] = ()


def _kept(
    corpus: Corpus, mapping: dict[str, str], shared: tuple[str, ...]
) -> tuple[list[Utterance], dict[str, int]]:
    """(utterances whose label maps into `shared`, excluded raw label -> count)."""
    kept: list[Utterance] = []
    excluded: Counter[str] = Counter()
    for u in corpus.utterances:
        if mapping.get(u.label) in shared:
            kept.append(u)
        else:
            excluded[u.label] += 1
    order = {label: i for i, label in enumerate(corpus.protocol.labels)}
    return kept, dict(sorted(excluded.items(), key=lambda kv: (order.get(kv[0], 99), kv[0])))


def join(train: Corpus, test: Corpus, train_name: str, test_name: str) -> JoinedCorpus:
    """The cross-corpus protocol of `train` -> `test` (module docstring). UserError when either
    corpus is multi-label, or they share fewer than two classes."""
    for name, corpus in ((train_name, train), (test_name, test)):
        if corpus.protocol.multilabel:
            raise UserError(f"{name}: a multi-label protocol cannot meet another corpus's labels")
    map_a = shared_labels(train_name, train.protocol.labels)
    map_b = shared_labels(test_name, test.protocol.labels)
    both = set(map_a.values()) & set(map_b.values())
    shared = tuple(e for e in BASIC_EMOTIONS if e in both)
    if len(shared) < 2:
        raise UserError(
            f"--train-on {train_name} --test-on {test_name}: the corpora share "
            f"{'no class' if not shared else 'only ' + shared[0]} (at least 2 needed; "
            f"{train_name}: {', '.join(sorted(set(map_a.values())))}; "
            f"{test_name}: {', '.join(sorted(set(map_b.values())))})"
        )
    kept_a, excluded_a = _kept(train, map_a, shared)
    kept_b, excluded_b = _kept(test, map_b, shared)
    first = train.protocol.splits[0]
    dev_ids = set(first.dev)
    prefix = f"{train_name}:"
    utterances = [
        dataclasses.replace(u, id=prefix + u.id, speaker=prefix + u.speaker, label=map_a[u.label])
        for u in kept_a
    ] + [dataclasses.replace(u, label=map_b[u.label]) for u in kept_b]
    ids = [u.id for u in utterances]
    if len(set(ids)) != len(ids):
        clash = next(i for i, n in Counter(ids).items() if n > 1)
        raise UserError(f"{test_name}: utterance id {clash!r} clashes with a training id")
    dev = tuple(prefix + u.id for u in kept_a if u.id in dev_ids)
    train_ids = tuple(prefix + u.id for u in kept_a if u.id not in dev_ids)
    split = Split(CROSS_SPLIT, train_ids, dev, tuple(u.id for u in kept_b))
    meeting = Meeting(
        train_name,
        test_name,
        shared,
        {train_name: {k: v for k, v in map_a.items() if v in shared},
         test_name: {k: v for k, v in map_b.items() if v in shared}},
        {train_name: excluded_a, test_name: excluded_b},
        {"train": len(train_ids), "dev": len(dev), "test": len(split.test)},
        first.name,
    )  # fmt: skip
    record = meeting.record()
    protocol = CrossProtocol(
        labels=shared,
        splits=(split,),
        headline_metrics=test.protocol.headline_metrics,
        dev_rule=f"dev = {train_name}'s dev part of {first.name} ({train.protocol.dev_rule})",
        description=f"trained on {train_name}, tested on {test_name}",
        title=f"{train_name}->{test_name}",
        split_scheme="cross_corpus",
        paper_names=test.protocol.paper_names,
        note=meeting_note(record),
        order=200,
        meeting=record,
    )
    speech_only = not any(u.text for u in train.utterances) or not any(
        u.text for u in test.utterances
    )
    if speech_only:  # one corpus lacks text: so does the pair (text-reading recipes are refused)
        utterances = [dataclasses.replace(u, text="") for u in utterances]
    return JoinedCorpus(
        name=f"{train_name}->{test_name}",
        utterances=utterances,
        protocol=protocol,
        skipped=[*train.skipped, *test.skipped],
        parts=((prefix, train), ("", test)),
    )

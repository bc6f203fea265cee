"""Cross-corpus sweeps (``--train-on A --test-on B``): which corpora a sweep loads and plans, the
pair's identity in run keys, and the features a pair's runs read.

The protocol itself (shared labels, excluded counts, the training and test parts) is the data
layer's (`merbench.data.crosscorpus`). Here:

- `corpus_refs` reads the command line: ``--data-root NAME=PATH`` gives corpus NAME its folder
  (a bare PATH is for a single corpus only; a cross-corpus sweep does not read
  ``$MERBENCH_DATA``), ``--dataset-option NAME:KEY=VALUE`` gives a loader option to NAME only,
  ``KEY=VALUE`` to every corpus of the command;
- `sweep_datasets` says what a sweep loads (the training corpus and every test corpus: their
  feature-store entries are filled as for any corpus) and what it plans (a `CrossRef` per test
  corpus; a test corpus that is the training corpus is planned as the ordinary in-corpus runs,
  whose run keys do not change: the diagonal of the matrix table);
- `cross_identity` is the dataset part of a pair's run key: both corpora's identities
  (fingerprints included), the shared classes, the label maps and the training rule;
- `features_of` serves a pair's runs from the two corpora's own store entries (`JoinedFeatures`),
  so nothing is encoded twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from merbench.data.base import Corpus
from merbench.data.crosscorpus import JoinedCorpus, join
from merbench.errors import UserError
from merbench.experiment.plan import CrossRef, DatasetRef, dataset_identity, load_corpus


def corpus_refs(
    train: str, test_on: Sequence[str], roots: Sequence[str], options: dict[str, str]
) -> tuple[DatasetRef, tuple[DatasetRef, ...]]:
    """(training corpus, test corpora) of the command line (module docstring); without
    `test_on`, the one corpus as ``--dataset`` always gave it (an unknown corpus is refused when
    it loads, once ``--plugin`` modules are imported). UserError for a corpus named twice, a folder given twice or without its NAME in a cross-corpus sweep."""
    from merbench.experiment.sweep import data_root, dataset_ref

    names = [train, *test_on]
    twice = [n for i, n in enumerate(test_on) if n in test_on[:i]]
    if twice:
        raise UserError(f"--test-on {twice[0]}: given twice")
    keyed: dict[str, str] = {}
    plain: list[str] = []
    for item in roots:
        key, sep, value = item.partition("=")
        if sep and key in names:
            if key in keyed:
                raise UserError(f"--data-root {key}=...: given twice")
            keyed[key] = value
        else:
            plain.append(item)
    per_corpus = {name: _options_of(name, names, options) for name in names}
    if not test_on:
        if len(plain) + len(keyed) > 1:
            raise UserError(f"--data-root: {len(roots)} folders for one corpus ({train})")
        root = plain[0] if plain else keyed.get(train)
        return dataset_ref(train, root, per_corpus[train]), ()
    if plain:
        raise UserError(
            f"--data-root {plain[0]}: with --test-on give each corpus's folder as NAME=PATH "
            f"(e.g. --data-root {test_on[0]}=PATH)"
        )
    refs = {
        name: DatasetRef(
            name,
            data_root(keyed[name]) if name in keyed else None,
            tuple(sorted(per_corpus[name].items())),
        )
        for name in names
    }
    return refs[train], tuple(refs[n] for n in test_on)


def _options_of(name: str, names: list[str], options: dict[str, str]) -> dict[str, str]:
    """The loader options of corpus `name`: ``KEY=VALUE`` ones and its own ``NAME:KEY=VALUE``."""
    out: dict[str, str] = {}
    for key, value in options.items():
        owner, sep, own_key = key.partition(":")
        if not sep:
            out[key] = value
            continue
        if owner not in names:
            raise UserError(f"--dataset-option {key}={value}: {owner} is not a corpus of this run")
        if owner == name:
            out[own_key] = value
    return out


def sweep_datasets(
    train: DatasetRef, test_on: Sequence[DatasetRef], datasets: Sequence[DatasetRef]
) -> tuple[list[DatasetRef], list[DatasetRef]]:
    """(corpora to load and encode, datasets to plan runs on) of a sweep (module docstring);
    without `test_on`, `datasets` for both."""
    if not test_on:
        return list(datasets), list(datasets)
    loaded = list(dict.fromkeys([train, *test_on]))
    planned: list[DatasetRef] = [
        ref if ref == train else CrossRef(f"{train.name}->{ref.name}", train=train, test=ref)
        for ref in test_on
    ]
    return loaded, planned


def load_source(ref: DatasetRef, cache_dir: str | None, cross: bool) -> Corpus:
    """`load_corpus`, whose error for a corpus without a folder in a cross-corpus sweep says how
    to give it one."""
    from merbench.registry import DATASETS

    DATASETS.get(ref.name)  # an unknown corpus: one line listing the valid ones, no hint
    try:
        return load_corpus(ref, cache_dir)
    except UserError as exc:
        if cross and ref.root is None:
            raise UserError(f"{exc} (with --test-on: --data-root {ref.name}=PATH)") from None
        raise


def load_joined(ref: CrossRef, cache_dir: str | None) -> JoinedCorpus:
    """The cross-corpus corpus of `ref` (`merbench.data.crosscorpus.join`)."""
    train = load_source(ref.train, cache_dir, cross=True)
    test = load_source(ref.test, cache_dir, cross=True)
    return join(train, test, ref.train.name, ref.test.name)


def cross_identity(ref: CrossRef, corpus: Corpus) -> dict[str, Any]:
    """The dataset part of a cross-corpus run's identity (module docstring)."""
    assert isinstance(corpus, JoinedCorpus), corpus
    meeting = corpus.protocol.meeting  # type: ignore[attr-defined]
    (_, train), (_, test) = corpus.parts
    return {
        "name": ref.name,
        "cross": {
            "train": dataset_identity(ref.train, train),
            "test": dataset_identity(ref.test, test),
            "shared": meeting["shared"],
            "labels": meeting["labels"],
            "rule": f"train: all but the dev part of {meeting['dev_split']}; test: all",
        },
    }


class JoinedFeatures:
    """The features of a `JoinedCorpus` by one encoder, read from each source corpus's entry:
    ``feats[prefix + id]``; `ids`, `dim`, `length` and ``meta["unreadable"]`` as a store entry's."""

    def __init__(self, parts: list[tuple[str, Any]]) -> None:
        dims = {features.dim for _, features in parts}
        if len(dims) != 1:
            raise ValueError(f"one encoder gave the corpora widths {sorted(dims)}")
        self.dim: int = dims.pop()
        self._where = {prefix + i: (f, i) for prefix, f in parts for i in f.ids}
        self.ids = tuple(self._where)
        unreadable = {
            prefix + i: why
            for prefix, f in parts
            for i, why in f.meta.get("unreadable", {}).items()
        }
        self.meta: dict[str, Any] = {"unreadable": unreadable}

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, utt_id: object) -> bool:
        return utt_id in self._where

    def __getitem__(self, utt_id: str) -> Any:
        features, own = self._where[utt_id]
        return features[own]

    def length(self, utt_id: str) -> int:
        features, own = self._where[utt_id]
        return int(features.length(own))


def features_of(store: Any, corpus: Corpus, encoder: Any, device: str) -> Any:
    """``store.get(corpus, encoder)``; for a `JoinedCorpus`, its `JoinedFeatures`."""
    if isinstance(corpus, JoinedCorpus):
        parts = [(p, store.get(part, encoder, device=device)) for p, part in corpus.parts]
        return JoinedFeatures(parts)
    return store.get(corpus, encoder, device=device)

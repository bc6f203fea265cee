"""Whether a loaded corpus can be benchmarked at all: every split part non-empty, every class
seen in training. `protocol_problems` lists what is wrong (one line each, naming the split);
`merbench datasets check` reports them and a sweep refuses to start on them."""

from __future__ import annotations

from merbench.data.base import Corpus


def protocol_problems(
    corpus: Corpus, splits: tuple[str, ...] = (), *, every_class: bool = True
) -> list[str]:
    """Problems of `corpus`'s splits (all, or those named in `splits`), in split order: an empty
    train, dev or test part; with `every_class`, a class without any training utterance."""
    problems = []
    chosen = [s for s in corpus.protocol.splits if not splits or s.name in splits]
    if not corpus.utterances:
        problems.append(f"{corpus.name}: no usable utterance (every one was skipped)")
    for split in chosen:
        for part in ("train", "dev", "test"):
            if not getattr(split, part):
                problems.append(
                    f"{corpus.name}: split {split.name}: the {part} part is empty (no utterance)"
                )
        if every_class and split.train and not corpus.protocol.multilabel:
            seen = {corpus[i].label for i in split.train}
            absent = [c for c in corpus.protocol.labels if c not in seen]
            if absent:
                problems.append(
                    f"{corpus.name}: split {split.name}: class {absent[0]!r} has no training "
                    f"utterance ({len(absent)} class(es) absent from train)"
                )
    return problems

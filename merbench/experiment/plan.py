"""Planning a sweep: which corpus, which runs (configuration x split x seed, each with its run key),
and which of them already finished.

`plan` turns configurations x dataset into `RunTask`s; `pending` splits them into those to run and
those finished (runs left RUNNING by an interrupted sweep are marked FAILED, so they are redone).
`load_corpus` loads a corpus once per process, with its text source (`merbench.experiment.modalities`).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from merbench.data.base import Corpus
from merbench.experiment import claims, tracking
from merbench.experiment.identity import config_key, identity_json, run_key
from merbench.experiment.modalities import (
    check_modalities,
    load_with_text,
    split_text_option,
    text_identity,
)
from merbench.experiment.recipes import Configuration
from merbench.experiment.resolved import ResolvedConfig
from merbench.keys import canonical_json
from merbench.registry import DATASETS


@dataclass(frozen=True)
class DatasetRef:
    """Which corpus to use: registry name, folder (None for generated corpora), loader options."""

    name: str
    root: str | None = None
    options: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class CrossRef(DatasetRef):
    """Train on one corpus, test on another (`merbench.experiment.crosscorpus`); `name` is
    ``<train>-><test>``."""

    train: DatasetRef = DatasetRef("")
    test: DatasetRef = DatasetRef("")


@dataclass(frozen=True)
class RunTask:
    """Everything a worker needs to do one run, picklable for Ray and submitit.

    `readable` (the configuration's readable name) and `label` (a name given with ``--name``)
    are logged as tags for tables; neither is part of the run's identity.
    """

    name: str
    grid: str
    config: ResolvedConfig
    dataset: DatasetRef
    dataset_identity_json: str
    split: str
    seed: int
    run_key: str
    config_key: str
    device: str
    tracking_uri: str
    cache_dir: str | None
    plugins: tuple[str, ...] = ()
    readable: str = ""
    label: str = ""

    def identity_json(self) -> str:
        """The run's identity as canonical JSON (its SHA-256 is `run_key`): the ``config.json``
        artifact."""
        return identity_json(self.config, self.dataset_identity_json, self.split, self.seed)


@dataclass
class Outcome:
    """What came of one task: status (FINISHED, SKIPPED, FAILED), metrics, seconds, error."""

    task: RunTask
    status: str
    metrics: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    error: str = ""
    warning: str = ""


@lru_cache(maxsize=4)
def load_corpus(ref: DatasetRef, cache_dir: str | None = None) -> Corpus:
    """The corpus of `ref` with its text source (``text=`` option) applied, once per process;
    `cache_dir` is where ASR transcripts are cached (``<cache_dir>/transcripts``)."""
    if isinstance(ref, CrossRef):
        from merbench.experiment.crosscorpus import load_joined

        return load_joined(ref, cache_dir)
    source, options = split_text_option(dict(ref.options))
    loader = DATASETS.build(ref.name, **options)
    root = Path(ref.root).expanduser() if ref.root else None
    return load_with_text(loader, root, source, cache_dir)


def dataset_identity(ref: DatasetRef, corpus: Corpus) -> dict[str, Any]:
    """The dataset part of run identity: name, resolved loader config, corpus fingerprint, and
    the text source when it is not the corpus's own text (`modalities.text_identity`); for a
    cross-corpus pair, both corpora's identities and how they meet (`crosscorpus.cross_identity`)."""
    if isinstance(ref, CrossRef):
        from merbench.experiment.crosscorpus import cross_identity

        return cross_identity(ref, corpus)
    source, options = split_text_option(dict(ref.options))
    config = DATASETS.resolve(ref.name, options)
    resolved = dataclasses.asdict(config) if config is not None else {}
    identity = {"name": ref.name, **resolved, "fingerprint": corpus.fingerprint()}
    text = text_identity(source, corpus)
    return identity if text is None else {**identity, "text": text}


#: Most seeds one command plans (each seed multiplies every configuration and split).
MAX_SEEDS = 1000
#: Largest seed numpy accepts (`numpy.random.seed` takes 0 .. 2**32 - 1).
MAX_SEED = 2**32 - 1


def parse_seeds(text: str) -> tuple[int, ...]:
    """``"3"`` -> (0, 1, 2); ``"0,1,2"`` or ``"5,7"`` -> those seeds.

    A count is 1 .. `MAX_SEEDS`; a list holds at most `MAX_SEEDS` distinct seeds, each in
    0 .. `MAX_SEED`. A seed listed twice would plan the same runs twice: it is a UserError (one
    line naming it), as is anything else out of these bounds. Checked before anything is loaded.
    """
    from merbench.errors import UserError

    try:
        if "," in text:
            seeds = tuple(int(s) for s in text.split(",") if s.strip())
        else:
            count = int(text)
    except ValueError:
        raise UserError(f"--seeds {text!r}: expected a count (3) or a list (0,1,2)") from None
    shown = text if len(text) <= 40 else text[:37] + "..."
    if "," not in text:
        if count < 1:
            raise UserError(
                f"--seeds {shown!r}: a count is at least 1 (for seed 0 alone: --seeds 0,)"
            )
        if count > MAX_SEEDS:
            raise UserError(f"--seeds {shown!r}: at most {MAX_SEEDS} seeds")
        return tuple(range(count))
    if not seeds or min(seeds) < 0:
        raise UserError(f"--seeds {shown!r}: seeds are non-negative integers")
    if max(seeds) > MAX_SEED:
        raise UserError(f"--seeds {shown!r}: seed {max(seeds)} is over {MAX_SEED} (2**32 - 1)")
    if len(seeds) > MAX_SEEDS:
        raise UserError(f"--seeds {shown!r}: {len(seeds)} seeds, at most {MAX_SEEDS}")
    twice = sorted(s for s, n in Counter(seeds).items() if n > 1)
    if twice:
        raise UserError(f"--seeds {shown!r}: seed {twice[0]} is listed twice")
    return seeds


def plan(
    configurations: list[Configuration],
    ref: DatasetRef,
    corpus: Corpus,
    seeds: tuple[int, ...],
    *,
    splits: tuple[str, ...] = (),
    device: str,
    tracking_uri: str,
    cache_dir: str | None,
    plugins: tuple[str, ...] = (),
    label: str = "",
) -> list[RunTask]:
    """Every (configuration, split, seed) run on `corpus`, with its run key; a configuration that
    reads text on a corpus without text is refused here (UserError), before any extraction.

    `label` names the configurations in tables (`label_of`)."""
    check_modalities(configurations, corpus, ref.name)
    identity = canonical_json(dataset_identity(ref, corpus))
    chosen = [corpus.protocol.split(s) for s in splits] if splits else corpus.protocol.splits
    tasks = []
    for conf in configurations:
        ckey = config_key(conf.config, identity)
        for split in chosen:
            for seed in seeds:
                tasks.append(
                    RunTask(
                        name=conf.name,
                        grid=conf.grid,
                        config=conf.config,
                        dataset=ref,
                        dataset_identity_json=identity,
                        split=split.name,
                        seed=seed,
                        run_key=run_key(conf.config, identity, split.name, seed),
                        config_key=ckey,
                        device=device,
                        tracking_uri=tracking_uri,
                        cache_dir=cache_dir,
                        plugins=plugins,
                        readable=conf.readable or conf.name,
                        label=label_of(label, conf),
                    )
                )
    return tasks


def label_of(label: str, conf: Configuration) -> str:
    """The table name ``--name`` gives `conf`: `label` itself, or ``label: <row>`` for a grid row
    (every row of a grid is a configuration of its own); empty without `label`."""
    if not label:
        return ""
    return f"{label}: {conf.name}" if conf.grid else label


def pending(tasks: list[RunTask], tracking_uri: str) -> tuple[list[RunTask], list[RunTask]]:
    """Split `tasks` into (to run, already finished); runs left RUNNING by a process that is gone
    are marked FAILED (a run key claimed by a live process is left alone)."""
    states = tracking.run_states(tracking_uri)
    done = [t for t in tasks if states.get(t.run_key) == "FINISHED"]
    todo = [t for t in tasks if states.get(t.run_key) != "FINISHED"]
    stale = [
        t.run_key
        for t in todo
        if states.get(t.run_key) == "RUNNING" and claims.holder(tracking_uri, t.run_key) is None
    ]  # a run whose key a live process holds is running, not stale
    if stale:
        tracking.mark_stale_runs_failed(tracking_uri, stale)
    return todo, done

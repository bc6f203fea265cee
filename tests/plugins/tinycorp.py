"""A corpus added the way a user adds one, out of tree: this loader file and its card beside it
(`tinycorp.toml`), nothing else. It speaks the embedded corpus's utterances under its own
protocol (its own headline metrics, title, dev-rule text, paper names and note)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from merbench.data.base import Corpus, CorpusLoader
from merbench.data.card import leave_one_group_out, load_card, make_protocol
from merbench.registry import DATASETS, build


@dataclass
class TinyCorpConfig:
    utterances_per_session: int = 16


@DATASETS.register("tinycorp", config=TinyCorpConfig)
class TinyCorp(CorpusLoader):
    def load(self, root: Path | None) -> Corpus:
        card = load_card("tinycorp", Path(__file__).with_name("tinycorp.toml"))
        synth = build(
            "datasets", "synth", utterances_per_session=self.config.utterances_per_session
        )
        source = synth.load(None)
        groups = sorted({u.group for u in source.utterances})
        splits = leave_one_group_out(source.utterances, groups, card["protocol"]["dev_rule"])
        protocol = make_protocol(card, card["protocol"]["labels"], splits)
        return Corpus("tinycorp", source.utterances, protocol)

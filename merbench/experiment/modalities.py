"""What a run reads: its text source (``--dataset-option text=gold|asr|asr:MODEL``) and the
modalities its configuration needs, decided at plan time.

- The ``text`` dataset option is not a loader option: `split_text_option` takes it out before the
  loader is built, `load_with_text` applies it after loading (`merbench.features.transcripts`), and
  `text_identity` is its part of the run key (nothing for gold text, so the keys of runs on a
  corpus's own text do not change; the recogniser's identity for ASR; ``"none"`` on a speech-only
  corpus).
- A configuration's modalities come from its model plugin (`reads`; a model class may define
  ``reads(model_config, components) -> frozenset``, default audio and text). On a speech-only corpus (no utterance
  has text) `check_modalities` refuses a configuration that reads text with one line naming the
  corpus and the two ways out; the audio-only ones run with `AbsentText` as their (unused) text
  features, and no text encoder runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from merbench.data.base import Corpus
from merbench.errors import UserError
from merbench.experiment.resolved import ResolvedConfig
from merbench.features.transcripts import TextSource, transcript_identity, with_text_source

BOTH = frozenset({"audio", "text"})


def split_text_option(options: dict[str, Any]) -> tuple[TextSource, dict[str, Any]]:
    """``(text source, the other loader options)`` of a dataset's options."""
    rest = dict(options)
    return TextSource.parse(str(rest.pop("text", "gold"))), rest


def load_with_text(loader: Any, root: Path | None, source: TextSource, cache: str | None) -> Corpus:
    """Load a corpus with `loader` and give it the text of `source`."""
    return with_text_source(loader.load(root), source, cache)


def speech_only(corpus: Corpus) -> bool:
    """True when no utterance of `corpus` has text."""
    return not any(u.text for u in corpus.utterances)


def text_identity(source: TextSource, corpus: Corpus) -> Any:
    """The text part of a run's dataset identity, or None for a corpus's own (gold) text."""
    if source.kind != "gold":
        return transcript_identity(source)
    return "none" if speech_only(corpus) else None


def text_label(identity: dict[str, Any]) -> str:
    """The ``text`` tag of a run from its dataset identity: ``gold``, ``asr:<model>`` or ``none``."""
    text = identity.get("text")
    if text is None:
        return "gold"
    return text if isinstance(text, str) else str(text.get("source", "?"))


def reads(config: ResolvedConfig) -> frozenset[str]:
    """The modalities a resolved configuration reads (its model plugin says; default both)."""
    from merbench.registry import MODELS

    model = MODELS.get(config.model.name).obj
    declared = getattr(model, "reads", None)
    return (
        frozenset(declared(config.model.config, config.components)) if callable(declared) else BOTH
    )


def check_modalities(configurations: Iterable[Any], corpus: Corpus, dataset: str) -> None:
    """Refuse, at plan time, a configuration that reads text on a corpus without text."""
    if not speech_only(corpus):
        return
    for conf in configurations:
        if "text" in reads(conf.config):
            where = f"{dataset} ({corpus.root})" if corpus.root else dataset
            raise UserError(
                f"{where} has no text (a speech-only corpus) and recipe {conf.name} reads text: "
                "give it a text source (--dataset-option text=asr) or run an audio-only recipe "
                "(--baseline audio-only)"
            )


def needed_encoders(configurations: Iterable[Any], corpus: Corpus) -> set[tuple[str, Any]]:
    """(modality, `EncoderSpec`) pairs to extract: no text encoder on a speech-only corpus, none
    for a configuration that fine-tunes its backbones on raw inputs (`finetune.raw_inputs`)."""
    from merbench.experiment.finetune import raw_inputs

    modalities = ("audio",) if speech_only(corpus) else ("audio", "text")
    cached = [c for c in configurations if not raw_inputs(c.config)]
    return {(m, getattr(c.config.encoders, m)) for c in cached for m in modalities}


class AbsentText:
    """Text features of a speech-only corpus: one zero frame of width 1 per utterance (read by no
    model that runs on such a corpus; `check_modalities` refused the others)."""

    dim = 1

    def __getitem__(self, utt_id: str) -> np.ndarray:
        return np.zeros((1, 1), dtype=np.float32)

"""Transcripts as a text source: a corpus's words from speech recognition, cached like features.

A run's *text source* is ``gold`` (the corpus's own text: transcripts of IEMOCAP, MELD, M3ED, the
sentences the acted corpora fix, synth's sentences; none for a speech-only manifest) or ``asr`` /
``asr:MODEL`` (Whisper through `merbench.encoders.asr`). `with_text_source(corpus, source)` returns
the corpus with every utterance's text replaced by its transcript (the gold text kept in
``meta["gold_text"]``), so everything downstream (fingerprint, text features, run key) follows.

Cache: ``<cache>/transcripts/<key>.json`` with key = SHA-256 of the recogniser's identity (model
files' hashes and decoding options), mapping the SHA-256 of each audio file's bytes to its
transcript. A transcript is computed once per (model, audio content), whatever corpus or folder the
file sits in; the file is rewritten atomically (under a lock) every `SAVE_EVERY` new transcripts,
so an interrupted pass keeps what it did.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from merbench.data.base import Corpus
from merbench.errors import UserError
from merbench.keys import sha256_key
from merbench.paths import cache_dir

log = logging.getLogger("merbench.transcripts")
SAVE_EVERY = 25


@dataclass(frozen=True)
class TextSource:
    """Where a run's text comes from: ``gold`` or ``asr`` with a model (``""`` = the packaged one)."""

    kind: str = "gold"
    model: str = ""

    @classmethod
    def parse(cls, value: str) -> TextSource:
        """``gold``, ``asr`` or ``asr:MODEL`` (a model name or a local folder)."""
        kind, sep, model = value.strip().partition(":")
        if kind == "gold" and not sep:
            return cls()
        if kind == "asr" and (model or not sep):
            return cls("asr", model.strip())
        raise UserError(
            f"--dataset-option text={value}: expected gold, asr or asr:MODEL "
            "(a Whisper model name or the folder of a CTranslate2 Whisper model)"
        )

    @property
    def label(self) -> str:
        from merbench.encoders.asr import PACKAGED_NAME

        return "gold" if self.kind == "gold" else f"asr:{self.model or PACKAGED_NAME}"


@dataclass
class TranscriptStore:
    """The transcript cache (see the module docstring). `stats` counts what one object did."""

    root: Path = field(default_factory=lambda: cache_dir() / "transcripts")
    stats: dict[str, int] = field(default_factory=lambda: {"transcribed": 0, "cached": 0})

    def __post_init__(self) -> None:
        self.root = Path(self.root)

    def path(self, identity: dict[str, Any]) -> Path:
        return self.root / f"{sha256_key(identity)}.json"

    def _read(self, path: Path) -> dict[str, str]:
        try:
            return json.loads(path.read_text("utf-8"))["transcripts"]
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, KeyError, TypeError):
            log.warning("transcript cache %s is unreadable: transcribing again", path)
            return {}

    def _save(self, path: Path, identity: dict[str, Any], new: dict[str, str]) -> None:
        from filelock import FileLock

        from merbench.files import write_atomic

        self.root.mkdir(parents=True, exist_ok=True)
        with FileLock(str(path) + ".lock"):
            merged = {**self._read(path), **new}
            text = json.dumps({"model": identity, "transcripts": merged}, ensure_ascii=False)
            write_atomic(path, text, "ASR transcripts (the cache keeps its previous content)")

    def transcripts(
        self,
        corpus: Corpus,
        transcriber: Any,
        progress: Callable[[int, int], None] | None = None,
    ) -> dict[str, str]:
        """Utterance id -> transcript for every utterance of `corpus` that has audio."""
        from merbench.encoders.hub import file_sha256

        identity = transcriber.identity()
        path = self.path(identity)
        cached = self._read(path)
        new: dict[str, str] = {}
        out: dict[str, str] = {}
        utts = [(u, Path(u.audio)) for u in corpus.utterances if u.audio is not None]
        for k, (utt, audio) in enumerate(utts, start=1):
            try:
                digest = file_sha256(audio)
            except OSError as exc:
                raise UserError(f"{utt.id}: cannot read {audio} ({exc.strerror})") from None
            if digest in cached or digest in new:
                out[utt.id] = cached.get(digest, new.get(digest, ""))
                self.stats["cached"] += 1
            else:
                wave = corpus.load_audio(utt, transcriber.sample_rate)
                out[utt.id] = new[digest] = transcriber.transcribe(wave)
                self.stats["transcribed"] += 1
                if len(new) % SAVE_EVERY == 0:
                    self._save(path, identity, new)
            if progress is not None:
                progress(k, len(utts))
        if new:
            self._save(path, identity, new)
        return out


def with_text_source(
    corpus: Corpus,
    source: TextSource,
    cache: str | Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Corpus:
    """`corpus` with its text from `source` (the same object for ``gold``).

    `cache` is the cache root (``--cache-dir``; transcripts go to ``<cache>/transcripts``).
    """
    if source.kind == "gold":
        return corpus
    from merbench.encoders.asr import Transcriber

    store = TranscriptStore(Path(cache) / "transcripts") if cache else TranscriptStore()
    texts = store.transcripts(corpus, Transcriber(source.model), progress)
    utterances = [
        replace(u, text=texts.get(u.id, ""), meta={**u.meta, "gold_text": u.text})
        for u in corpus.utterances
    ]
    return Corpus(
        corpus.name,
        utterances,
        corpus.protocol,
        corpus.skipped,
        corpus.root,
        corpus.excluded,
        corpus.notes,
        corpus.shortfall,
    )


def transcript_identity(source: TextSource) -> dict[str, Any]:
    """The text-source part of a run's identity: the source label and the recogniser's identity."""
    if source.kind == "gold":
        return {"source": "gold"}
    from merbench.encoders.asr import Transcriber

    return {"source": source.label, **Transcriber(source.model).identity()}


# -- word error rate ----------------------------------------------------------------------------
_PUNCT = re.compile(r"[^\w\s']")


def normalise(text: str) -> list[str]:
    """Words of `text` for scoring: lower case, punctuation removed (apostrophes kept)."""
    return _PUNCT.sub(" ", text.lower()).split()


def edit_distance(ref: Sequence[str], hyp: Sequence[str]) -> int:
    """Levenshtein distance between two word sequences (substitutions, deletions, insertions)."""
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, start=1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, start=1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1]


def word_error_rate(refs: Sequence[str], hyps: Sequence[str]) -> float:
    """Corpus WER: total word edits over total reference words, after `normalise`."""
    pairs = [(normalise(r), normalise(h)) for r, h in zip(refs, hyps, strict=True)]
    words = sum(len(r) for r, _ in pairs)
    if not words:
        raise ValueError("word error rate: the references have no words")
    return sum(edit_distance(r, h) for r, h in pairs) / words


def transcript_table(corpus: Corpus) -> Any:
    """DataFrame ``id, gold, asr`` of an ASR corpus (None for a corpus with its own text)."""
    import pandas as pd

    if not any("gold_text" in u.meta for u in corpus.utterances):
        return None
    rows = [(u.id, u.meta.get("gold_text", ""), u.text) for u in corpus.utterances]
    return pd.DataFrame(rows, columns=["id", "gold", "asr"])


def corpus_wer(corpus: Corpus) -> float | None:
    """WER of an ASR corpus's transcripts against its gold text (None without gold text)."""
    pairs = [(u.meta["gold_text"], u.text) for u in corpus.utterances if u.meta.get("gold_text")]
    if not pairs:
        return None
    return word_error_rate([g for g, _ in pairs], [a for _, a in pairs])

"""The shared reader of acted speech-emotion corpora whose file names encode everything.

RAVDESS, CREMA-D, TESS and EmoDB ship one audio file per utterance and put the speaker, the
emotion and the sentence in the file name; none ships a separate label file. A reader of this
family is a subclass of `ActedCorpus` that says where the files are (`files`) and how one name
parses (`parse`, which returns a `Parsed` or raises `BadName`); this class does the rest:

- every audio file under the corpus folder is parsed; a name that does not follow the corpus's
  scheme is a UserError naming the file and the expected pattern (nothing is guessed, except for
  a release's known misnamed files, read with a note naming them);
- an entry named in the scheme that is not a readable audio file (a directory, a broken or
  looping link, a format the decoder does not read) is skipped as ``missing audio`` with the
  reason; flac, ogg and aiff copies are read like the wav;
- the card's ``[release]`` counts (`merbench.data.release`) are compared with what is here: a
  shortfall is listed in `Corpus.shortfall` (total, then each speaker and class short);
- the card ``datasets/<name>.toml`` maps the codes of the names to labels (``[codes]``) and, where
  the corpus fixes the sentence, to its text (so ``text=gold`` works), and defines the
  speaker-independent folds (``protocol.folds``: lists of speaker ids);
- files the protocol does not use (e.g. RAVDESS song files) are recorded in `Corpus.skipped` with a
  reason; a speaker in no fold is an error; a corpus that loses every file says why, with counts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from merbench.data.base import Corpus, CorpusLoader, Split, Utterance
from merbench.data.card import load_card, make_protocol
from merbench.data.common import Gathered, require_utterances
from merbench.data.release import READABLE_SUFFIXES, entry_problem, shortfall
from merbench.errors import UserError


class BadName(ValueError):
    """A file name that does not follow the corpus's naming scheme (the message says why)."""


@dataclass(frozen=True)
class Parsed:
    """What one file name says: utterance id, speaker, raw emotion code, sentence code, extras.

    `skip` is a reason (``"category: detail"``) when the file is valid but not part of the protocol;
    `note` says how a known misnamed file of the release was read.
    """

    id: str
    speaker: str
    emotion: str
    sentence: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    skip: str = ""
    note: str = ""


@dataclass
class ActedConfig:
    """Options of the acted-corpus readers (none is needed for the published protocol)."""

    folds: str = "card"  # the speaker folds of the card; "speaker" = leave one speaker out


class ActedCorpus(CorpusLoader):
    """Base of the file-name-coded acted corpora (see the module docstring)."""

    config: ActedConfig
    #: registry name, which is also the card's name
    name: str = ""
    #: human title of the naming scheme, shown when a name does not parse
    scheme: str = ""

    # -- what a subclass provides ---------------------------------------------------------------
    def find(self, root: Path | None) -> Path:  # pragma: no cover - abstract
        """The corpus folder inside the path the user gave (UserError when it is not there)."""
        raise NotImplementedError

    #: whether the audio files sit in subfolders of the corpus folder (else directly in it)
    recursive: bool = True

    def files(self, root: Path) -> Iterable[Path]:
        """The entries of the corpus under `root` (in it only, unless recursive): every entry with
        an audio extension, whatever it is (file, folder, link), and every other file or link
        whose name follows the scheme (another format). Plain folders are not entries."""
        found = root.rglob("*") if self.recursive else root.iterdir()
        for p in found:
            if p.suffix.lower() in READABLE_SUFFIXES:
                yield p
            elif (p.is_symlink() or not p.is_dir()) and self.follows_scheme(p):
                yield p

    def follows_scheme(self, path: Path) -> bool:
        """Whether the name of `path` follows the corpus's naming scheme (`parse` accepts it)."""
        try:
            self.parse(path)
        except BadName:
            return False
        return True

    def parse(self, path: Path) -> Parsed:  # pragma: no cover - abstract
        """What the file name says; raise `BadName` when it does not follow the scheme."""
        raise NotImplementedError

    def splits(self, utterances: list[Utterance], card: dict[str, Any]) -> tuple[Split, ...]:
        """Speaker-independent folds: the card's ``protocol.folds`` (lists of speakers); fold k
        tests on its speakers, dev = the next fold's speakers (wrapping), train = the rest."""
        folds = self.fold_lists(card)
        present = {u.speaker for u in utterances}
        if self.config.folds == "speaker":
            folds = [f for f in folds if f[0] in present]
        for k, fold in enumerate(folds, start=1):
            if not present & set(fold):
                raise UserError(
                    f"{self.name}: fold{k} (speakers {', '.join(fold)}) has no utterances; "
                    "for a partial corpus use --dataset-option folds=speaker"
                )
        members = [[u.id for u in utterances if u.speaker in set(f)] for f in folds]
        out = []
        for k, test in enumerate(members):
            dev = members[(k + 1) % len(members)]
            train = [
                i for j, m in enumerate(members) if j not in (k, (k + 1) % len(members)) for i in m
            ]
            out.append(Split(f"fold{k + 1}", tuple(train), tuple(dev), tuple(test)))
        return tuple(out)

    # -- shared machinery -----------------------------------------------------------------------
    def fold_lists(self, card: dict[str, Any]) -> list[list[str]]:
        """The speaker lists of the folds (the card's, or one per speaker with ``folds=speaker``)."""
        folds = [[str(s) for s in fold] for fold in card["protocol"]["folds"]]
        if self.config.folds == "speaker":
            return [[s] for fold in folds for s in fold]
        if self.config.folds != "card":
            raise UserError(
                f"datasets/{self.name}.folds: {self.config.folds!r}; valid: card, speaker"
            )
        return folds

    def load(self, root: Path | None = None) -> Corpus:
        card = load_card(self.name)
        codes = card.get("codes", {})
        emotions: dict[str, str] = codes.get("emotion", {})
        sentences: dict[str, str] = codes.get("sentence", {})
        labels = tuple(card["protocol"]["labels"])
        speakers = {s for fold in self.fold_lists(card) for s in fold}
        root = self.find(root)
        files = sorted(self.files(root))
        got = Gathered()
        seen: dict[str, Path] = {}
        present: list[tuple[str, str]] = []  # (speaker, label) of every protocol file here
        for path in files:
            try:
                parsed = self.parse(path)
            except BadName as exc:
                raise UserError(
                    f"{path}: file name does not follow the {self.scheme} scheme ({exc})"
                ) from None
            if parsed.id in seen:
                raise UserError(f"{path}: duplicate utterance {parsed.id} (also {seen[parsed.id]})")
            seen[parsed.id] = path
            if parsed.skip:
                got.skip(parsed.id, parsed.skip)
                continue
            if parsed.note:
                got.notes.append(parsed.note)
            label = emotions.get(parsed.emotion, "")
            if label not in labels:
                valid = ", ".join(sorted(emotions))
                raise UserError(f"{path}: unknown emotion code {parsed.emotion!r}; valid: {valid}")
            if parsed.speaker not in speakers:
                raise UserError(
                    f"{path}: speaker {parsed.speaker} is in no fold of datasets/{self.name}.toml"
                )
            if sentences and parsed.sentence not in sentences:
                valid = ", ".join(sorted(sentences))
                raise UserError(
                    f"{path}: unknown sentence code {parsed.sentence!r}; valid: {valid}"
                )
            present.append((parsed.speaker, label))
            problem = entry_problem(path)
            if problem:
                got.skip(parsed.id, f"missing audio: {path} is {problem}")
                continue
            got.utterances.append(
                Utterance(
                    id=parsed.id,
                    speaker=parsed.speaker,
                    group=parsed.speaker,
                    text=self.text(parsed, sentences),
                    audio=path,
                    label=label,
                    meta={
                        "emotion_code": parsed.emotion,
                        "sentence": parsed.sentence,
                        **parsed.meta,
                    },
                )
            )
        require_utterances(got.utterances, got.skipped, str(root), len(files))
        protocol = make_protocol(card, labels, self.splits(got.utterances, card))
        corpus = got.corpus(self.name, protocol, root)
        corpus.shortfall = shortfall(card, sorted(speakers), present)
        return corpus

    def text(self, parsed: Parsed, sentences: dict[str, str]) -> str:
        """The sentence the file name fixes (the card's ``codes.sentence``), or '' when unknown."""
        return sentences.get(parsed.sentence, "")

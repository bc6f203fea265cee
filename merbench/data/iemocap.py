"""IEMOCAP (`IEMOCAP_full_release/`) read in its distributed layout.

- Labels: ``Session{N}/dialog/EmoEvaluation/<dialog>.txt``; only top-level files whose stem is a
  dialogue id are read. Utterance blocks start with ``[start - end]<TAB>id<TAB>label<TAB>[v, a, d]``;
  evaluator lines (``C-E1:``, ``A-F1:``, ...), ``%`` headers and blank lines are skipped; any other
  line is malformed (UserError naming file and line). A label spelled like a code but not
  identically (``Neu``, ``neu`` + U+200B) is read as the code, with a note.
- Text: ``Session{N}/dialog/transcriptions/<dialog>.txt``, ``id [start-end]: text``; lines of
  unannotated speech (ids with ``XX``, no bracket) are skipped.
- Audio: ``Session{N}/sentences/wav/<dialog>/<id>.wav``; existence only is checked here (one
  directory listing per dialogue), decoding happens on demand; missing audio is skipped with a
  recorded reason (``on_missing="skip"``) or an error (``"fail"``).
- Protocol (card ``datasets/iemocap.toml``): ``4class`` (neu, hap+exc, sad, ang: 5,531 utterances)
  or ``6class``; five folds, leave one session out, dev = the next session.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from merbench.data.base import Corpus, CorpusLoader, Utterance
from merbench.data.card import leave_one_group_out, make_protocol
from merbench.data.common import open_release
from merbench.data.labels import Spellings
from merbench.errors import UserError
from merbench.registry import DATASETS

RAW_LABELS = ("neu", "hap", "exc", "sad", "ang", "fru", "fea", "sur", "dis", "oth", "xxx")
SESSIONS = tuple(f"Session{n}" for n in range(1, 6))

DIALOGUE_RE = re.compile(r"^Ses0[1-5][FM]_(impro\d+[a-z]?|script\d+_\d+[a-z]?)$")
UTT_ID_RE = re.compile(r"^(Ses0[1-5])[FM]_\w+_([FM])\d{3}$")
HEADER_RE = re.compile(r"^\[(\d+\.\d+) - (\d+\.\d+)\]\t(\S+)\t(\S+)\t\[([^\]]*)\]\s*$")
EVALUATOR_RE = re.compile(r"^[A-Z]-[A-Z]+\d*:")
TRANSCRIPT_RE = re.compile(r"^(\S+) \[(\d+\.\d+)-(\d+\.\d+)\]:(.*)$")


@dataclass
class IemocapConfig:
    """Options of the IEMOCAP loader."""

    classes: str = "4class"  # a class set of the card: 4class (exc merged into hap) or 6class
    on_missing: str = "skip"  # missing audio: skip (recorded) or fail
    check_media: bool = True  # check that each wav exists (cheap); False: trust the layout


@dataclass
class _Label:
    utt_id: str
    label: str
    start: float
    end: float
    vad: tuple[float, ...]
    line: int


def parse_emo_evaluation(path: Path, spellings: Spellings | None = None) -> list[_Label]:
    """The utterance headers of one EmoEvaluation file, in file order; a label spelled like one
    of the release's codes but not identically is read as the code by `spellings` (which keeps
    a note of it)."""
    out = []
    for lineno, line in _lines(path):
        stripped = line.strip()
        if not stripped or stripped.startswith("%") or EVALUATOR_RE.match(stripped):
            continue
        m = HEADER_RE.match(line.rstrip("\r\n"))
        if not m:
            raise UserError(f"{path}:{lineno}: malformed EmoEvaluation line: {stripped[:80]!r}")
        start, end, utt_id, label, vad = m.groups()
        if spellings is not None:
            label = spellings.resolve(label, f"{path}:{lineno}")
        if label not in RAW_LABELS:
            raise UserError(
                f"{path}:{lineno}: unknown label {label!r} for {utt_id}; "
                f"valid: {', '.join(RAW_LABELS)}"
            )
        if not UTT_ID_RE.match(utt_id):
            raise UserError(f"{path}:{lineno}: malformed utterance id {utt_id!r}")
        try:
            values = tuple(float(v) for v in vad.split(","))
        except ValueError:
            raise UserError(f"{path}:{lineno}: malformed [V, A, D] values {vad!r}") from None
        out.append(_Label(utt_id, label, float(start), float(end), values, lineno))
    return out


def parse_transcription(path: Path) -> dict[str, str]:
    """Utterance id -> text of one transcription file. Lines of unannotated speech (``XX`` ids, no
    ``[start-end]:`` bracket) are skipped; a regular utterance id on a malformed line raises."""
    texts: dict[str, str] = {}
    for lineno, line in _lines(path):
        stripped = line.strip()
        if not stripped:
            continue
        m = TRANSCRIPT_RE.match(stripped)
        if m:
            utt_id, _, _, text = m.groups()
            if "XX" not in utt_id:
                if utt_id in texts:
                    raise UserError(
                        f"{path}:{lineno}: duplicate transcription line for {utt_id} "
                        "(which text is right cannot be told)"
                    )
                texts[utt_id] = text.strip()
            continue
        first = stripped.split(maxsplit=1)[0]
        if UTT_ID_RE.match(first):
            raise UserError(f"{path}:{lineno}: malformed transcription line: {stripped[:80]!r}")
    return texts


def _lines(path: Path):
    try:
        with open(path, encoding="utf-8", errors="strict") as fh:
            yield from enumerate(fh, start=1)
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise UserError(f"{path}:{line}: not valid UTF-8 ({exc.reason})") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.strerror})") from None


def _check_every_wav_labelled(emo_path: Path, records: list[_Label], wavs: frozenset[str]) -> None:
    """A wav of the dialogue without a label line means a truncated or damaged EmoEvaluation
    file (its utterances would silently vanish): UserError naming the file and the first wav."""
    labelled = {r.utt_id for r in records}
    unlabelled = sorted(
        n for n in wavs if n.endswith(".wav") and UTT_ID_RE.match(n[:-4]) and n[:-4] not in labelled
    )
    if unlabelled:
        last = f"line {records[-1].line}" if records else "no utterance line"
        raise UserError(
            f"{emo_path}: {len(unlabelled)} wav(s) of this dialogue have no label line "
            f"(first: {unlabelled[0]}; last labelled: {last}); is the file truncated?"
        )


def speaker_of(utt_id: str) -> str:
    """``Ses01F_impro01_M013`` -> ``Ses01M``: session + the gender letter before the final digits."""
    m = UTT_ID_RE.match(utt_id)
    if not m:
        raise ValueError(f"not an IEMOCAP utterance id: {utt_id!r}")
    return m.group(1) + m.group(2)


@DATASETS.register("iemocap", config=IemocapConfig)
class IemocapCorpus(CorpusLoader):
    """IEMOCAP from ``IEMOCAP_full_release/`` (or a folder containing it)."""

    config: IemocapConfig

    def load(self, root: Path | None = None) -> Corpus:
        cfg = self.config
        release, got = open_release(
            "iemocap", cfg.on_missing, root, "Session1", ("IEMOCAP_full_release",), "IEMOCAP",
            cfg.classes,
        )  # fmt: skip
        root, labels, merge = release.root, release.labels, release.merge
        excluded: Counter = Counter()
        seen: dict[str, str] = {}
        spellings = Spellings("label", RAW_LABELS)
        for n, session in enumerate(SESSIONS, start=1):
            emo_dir = root / session / "dialog" / "EmoEvaluation"
            if not emo_dir.is_dir():
                raise UserError(f"{emo_dir}: missing folder (expected in the IEMOCAP layout)")
            dialogues = sorted(
                p for p in emo_dir.glob("*.txt") if p.is_file() and DIALOGUE_RE.match(p.stem)
            )
            if not dialogues:
                raise UserError(f"{emo_dir}: no EmoEvaluation dialogue files (Ses0{n}*_*.txt)")
            for emo_path in dialogues:
                dialog = emo_path.stem
                trans_path = root / session / "dialog" / "transcriptions" / f"{dialog}.txt"
                texts = parse_transcription(trans_path) if trans_path.is_file() else None
                wav_dir = root / session / "sentences" / "wav" / dialog
                records = parse_emo_evaluation(emo_path, spellings)
                for rec in records:
                    where = f"{emo_path}:{rec.line}"
                    if rec.utt_id in seen:
                        raise UserError(
                            f"{where}: duplicate utterance id {rec.utt_id} ({seen[rec.utt_id]})"
                        )
                    seen[rec.utt_id] = where
                    if not rec.utt_id.startswith(f"Ses0{n}"):
                        raise UserError(f"{where}: utterance {rec.utt_id} is not in {session}")
                    label = merge.get(rec.label, rec.label)
                    if label not in labels:
                        excluded[rec.label] += 1
                        continue
                    if texts is None:
                        got.missing(rec.utt_id, f"missing transcript: {trans_path}")
                        continue
                    text = texts.get(rec.utt_id)
                    if text is None:
                        got.skip(rec.utt_id, f"no transcription line: {trans_path}")
                        continue
                    if not text:
                        got.skip(rec.utt_id, f"empty text: {trans_path}")
                        continue
                    wav = wav_dir / f"{rec.utt_id}.wav"
                    if cfg.check_media and not got.media.exists(wav):
                        got.missing(rec.utt_id, f"missing audio: {wav}")
                        continue
                    got.utterances.append(
                        Utterance(
                            id=rec.utt_id,
                            speaker=speaker_of(rec.utt_id),
                            group=f"Ses0{n}",
                            text=text,
                            audio=wav,
                            label=label,
                            meta={
                                "dialogue": dialog,
                                "raw_label": rec.label,
                                "start": rec.start,
                                "end": rec.end,
                                "vad": rec.vad,
                                "gender": speaker_of(rec.utt_id)[-1],
                            },
                        )
                    )
                if cfg.check_media:
                    _check_every_wav_labelled(emo_path, records, got.media.names(wav_dir))
        groups = [f"Ses0{n}" for n in range(1, 6)]
        rule = release.card["protocol"]["dev_rule"]
        splits = leave_one_group_out(got.utterances, groups, rule)
        protocol = make_protocol(release.card, labels, splits)
        got.notes += spellings.notes()
        return got.corpus("iemocap", protocol, root, dict(sorted(excluded.items())))

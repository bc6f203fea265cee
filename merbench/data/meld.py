"""MELD (`MELD.Raw/`) read in its distributed layout.

- ``{train,dev,test}_sent_emo.csv`` (UTF-8; quoted fields with commas, quotes, non-ASCII text):
  columns ``Utterance, Speaker, Emotion, Dialogue_ID, Utterance_ID`` are required, the others
  (``Sr No., Sentiment, Season, Episode, StartTime, EndTime``) are kept in ``meta`` when present.
- Media: ``train_splits/``, ``dev_splits_complete/``, ``output_repeated_splits_test/`` hold
  ``dia{D}_utt{U}.mp4``; a same-stem ``.wav`` is used instead when present. Only existence is checked
  at load time (one listing per folder); audio is decoded from the mp4 with PyAV on demand. Missing
  media are reported with their id and skipped (``on_missing="skip"``) or raise (``"fail"``).
- Ids are ``<split>_dia{D}_utt{U}`` (dialogue ids restart in every split); group = dialogue.
- An emotion spelled like a declared label but not identically (``Neutral``, ``joy`` + U+200B) is
  read as the declared label, and a speaker name spelled like an earlier one as that one, each
  with a note (`merbench.data.labels`).
- Protocol (card ``datasets/meld.toml``): the official train / dev / test split (one split named
  ``official``); headline ``wa, wf1, avg``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from merbench.data.base import Corpus, CorpusLoader, Split, Utterance
from merbench.data.card import make_protocol
from merbench.data.common import open_release, read_csv_rows
from merbench.data.labels import Spellings
from merbench.errors import UserError
from merbench.registry import DATASETS

SPLITS = ("train", "dev", "test")
MEDIA_DIRS = {
    "train": "train_splits",
    "dev": "dev_splits_complete",
    "test": "output_repeated_splits_test",
}
REQUIRED = ("Utterance", "Speaker", "Emotion", "Dialogue_ID", "Utterance_ID")
OPTIONAL = ("Sr No.", "Sentiment", "Season", "Episode", "StartTime", "EndTime")


@dataclass
class MeldConfig:
    """Options of the MELD loader."""

    on_missing: str = "skip"  # missing media: skip (recorded, with the id) or fail
    check_media: bool = True  # check that each mp4/wav exists (cheap); False: trust the layout


def _int(value: str, path: Path, line: int, column: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise UserError(f"{path}:{line}: {column} {value!r} is not an integer") from None


@DATASETS.register("meld", config=MeldConfig)
class MeldCorpus(CorpusLoader):
    """MELD from ``MELD.Raw/`` (or a folder containing it)."""

    config: MeldConfig

    def load(self, root: Path | None = None) -> Corpus:
        cfg = self.config
        release, got = open_release(
            "meld", cfg.on_missing, root, "train_sent_emo.csv", ("MELD.Raw",), "MELD"
        )
        root, labels, merge = release.root, release.labels, release.merge
        parts: dict[str, list[str]] = {s: [] for s in SPLITS}
        declared = Spellings("label", [*labels, *merge])
        speakers = Spellings("speaker")
        for split in SPLITS:
            path = root / f"{split}_sent_emo.csv"
            _, rows = read_csv_rows(path, REQUIRED)
            media_dir = root / MEDIA_DIRS[split]
            if cfg.check_media and not media_dir.is_dir():
                raise UserError(
                    f"{media_dir}: missing media folder (unpack the {split} media of MELD.Raw "
                    "here, or set check_media=false)"
                )
            seen: dict[str, int] = {}
            for line, row in rows:
                dia = _int(row["Dialogue_ID"], path, line, "Dialogue_ID")
                utt = _int(row["Utterance_ID"], path, line, "Utterance_ID")
                stem = f"dia{dia}_utt{utt}"
                utt_id = f"{split}_{stem}"
                if utt_id in seen:
                    raise UserError(
                        f"{path}:{line}: duplicate utterance {stem} (first at line {seen[utt_id]})"
                    )
                seen[utt_id] = line
                raw_label = declared.resolve(row["Emotion"], f"{path}:{line}")
                label = merge.get(raw_label, raw_label)
                if label not in labels:
                    raise UserError(
                        f"{path}:{line}: unknown emotion {row['Emotion']!r}; "
                        f"valid: {', '.join(labels)}"
                    )
                text = row["Utterance"].strip()
                if not text:
                    got.skip(utt_id, f"empty text: {path}:{line}")
                    continue
                audio = media_dir / f"{stem}.wav"
                if not got.media.exists(audio):
                    audio = media_dir / f"{stem}.mp4"
                    if cfg.check_media and not got.media.exists(audio):
                        got.missing(utt_id, f"missing media: {audio}")
                        continue
                meta = {"split": split, "line": line}
                meta.update({k.lower(): row[k] for k in OPTIONAL if k in row})
                got.utterances.append(
                    Utterance(
                        id=utt_id,
                        speaker=speakers.resolve(row["Speaker"].strip(), f"{path}:{line}"),
                        group=f"{split}_dia{dia}",
                        text=text,
                        audio=audio,
                        label=label,
                        meta=meta,
                    )
                )
                parts[split].append(utt_id)
        official = Split(
            "official", tuple(parts["train"]), tuple(parts["dev"]), tuple(parts["test"])
        )
        protocol = make_protocol(release.card, labels, [official])
        got.notes += declared.notes() + speakers.notes()
        return got.corpus("meld", protocol, root)

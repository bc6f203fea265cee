"""M3ED (Chinese TV-series dialogue, `M3ED/`) read in its distributed layout.

- ``annotation.json``: ``{movie: {dialogue: {"SpeakerInfo": {...}, "Dialog": {utt_id: {"Text",
  "Speaker", "StartTime", "EndTime", "EmoAnnotation": {..., "final_main_emo", "final_mul_emo"}}}}}}``.
- Splits by series: ``splitInfo/movie_list_{train,val,test}.txt`` (one series name per line).
- Labels: Happy, Neutral, Sad, Disgust, Anger, Fear, Surprise. `label` is ``final_main_emo``;
  `labels` always holds ``final_mul_emo`` (comma-separated); ``multilabel=True`` makes the protocol
  multi-label (sigmoid head, micro-F1 headline).
- Audio: one wav per utterance at ``audio_pattern`` relative to the corpus folder (fields
  ``{movie} {dialogue} {utt_id} {speaker}``; default ``modality_speech/{speaker}_{utt_id}.wav``,
  because redistributed copies differ). Missing audio is reported as for MELD.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from merbench.data.base import Corpus, CorpusLoader, Split, Utterance
from merbench.data.card import make_protocol
from merbench.data.common import open_release
from merbench.data.labels import Spellings
from merbench.errors import UserError
from merbench.registry import DATASETS

SPLIT_FILES = {
    "train": "movie_list_train.txt",
    "dev": "movie_list_val.txt",
    "test": "movie_list_test.txt",
}
PATTERN_FIELDS = ("movie", "dialogue", "utt_id", "speaker")


@dataclass
class M3edConfig:
    """Options of the M3ED loader."""

    multilabel: bool = False  # score final_mul_emo as a multi-label task instead of final_main_emo
    audio_pattern: str = (
        "modality_speech/{speaker}_{utt_id}.wav"  # fields: movie dialogue utt_id speaker
    )
    on_missing: str = "skip"  # missing audio: skip (recorded, with the id) or fail
    check_media: bool = True  # check that each wav exists (cheap); False: trust the layout


def read_split_lists(root: Path) -> dict[str, str]:
    """Series name -> split (train/dev/test) from ``splitInfo/movie_list_*.txt``."""
    out: dict[str, str] = {}
    where: dict[str, str] = {}
    for split, name in SPLIT_FILES.items():
        path = root / "splitInfo" / name
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            raise UserError(f"{path}: file not found (M3ED split list)") from None
        except UnicodeDecodeError as exc:
            raise UserError(f"{path}: not valid UTF-8 ({exc.reason})") from None
        for lineno, line in enumerate(lines, start=1):
            movie = line.strip()
            if not movie:
                continue
            if movie in out:
                raise UserError(
                    f"{path}:{lineno}: series {movie!r} is already listed in {where[movie]}"
                )
            out[movie], where[movie] = split, f"{name}"
    return out


def _require(obj: Any, key: str, path: Path, at: str) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise UserError(f"{path}: {at}: missing {key!r}")
    return obj[key]


@DATASETS.register("m3ed", config=M3edConfig)
class M3edCorpus(CorpusLoader):
    """M3ED from ``M3ED/`` (or a folder containing it)."""

    config: M3edConfig

    def load(self, root: Path | None = None) -> Corpus:
        cfg = self.config
        try:
            cfg.audio_pattern.format(**{f: "x" for f in PATTERN_FIELDS})
        except (KeyError, IndexError, ValueError) as exc:
            raise UserError(
                f"datasets/m3ed.audio_pattern: bad pattern {cfg.audio_pattern!r} ({exc}); "
                f"fields: {', '.join('{' + f + '}' for f in PATTERN_FIELDS)}"
            ) from None
        release, got = open_release(
            "m3ed", cfg.on_missing, root, "annotation.json", ("M3ED",), "M3ED"
        )
        root, card, labels, merge = release.root, release.card, release.labels, release.merge
        split_of = read_split_lists(root)
        path = root / "annotation.json"
        try:
            annotation = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise UserError(f"{path}:{exc.lineno}: malformed JSON ({exc.msg})") from None
        except UnicodeDecodeError as exc:
            raise UserError(f"{path}: not valid UTF-8 ({exc.reason})") from None
        if not isinstance(annotation, dict):
            raise UserError(f"{path}: expected an object of series at the top level")
        parts: dict[str, list[str]] = {"train": [], "dev": [], "test": []}
        seen: set[str] = set()

        declared = Spellings("label", [*labels, *merge])
        names = Spellings("speaker")

        def check_label(value: Any, at: str) -> str:
            value = declared.resolve(str(value), f"{path}: {at}")
            value = merge.get(value, value)
            if value not in labels:
                raise UserError(
                    f"{path}: {at}: unknown emotion {value!r}; valid: {', '.join(labels)}"
                )
            return value

        for movie, dialogues in annotation.items():
            split = split_of.get(movie)
            if not isinstance(dialogues, dict):
                raise UserError(f"{path}: {movie}: expected an object of dialogues")
            for dia, dialogue in dialogues.items():
                turns = _require(dialogue, "Dialog", path, f"{movie}/{dia}")
                speakers = dialogue.get("SpeakerInfo") or {}
                for utt_id, turn in turns.items():
                    at = f"{movie}/{dia}/{utt_id}"
                    if utt_id in seen:
                        raise UserError(f"{path}: {at}: duplicate utterance id {utt_id}")
                    seen.add(utt_id)
                    emo = _require(turn, "EmoAnnotation", path, at)
                    main = check_label(_require(emo, "final_main_emo", path, at), at)
                    mul_raw = emo.get("final_mul_emo") or main
                    if isinstance(mul_raw, str):  # "Happy,Surprise"; some copies store a list
                        mul_raw = mul_raw.split(",")
                    mul = tuple(check_label(e, at) for e in mul_raw if str(e).strip())
                    spk = str(_require(turn, "Speaker", path, at)).strip()
                    text = str(_require(turn, "Text", path, at)).strip()
                    if split is None:
                        got.skip(utt_id, f"series in no split list: {movie}")
                        continue
                    if not text:
                        got.skip(utt_id, f"empty text: {path} {at}")
                        continue
                    rel = cfg.audio_pattern.format(
                        movie=movie, dialogue=dia, utt_id=utt_id, speaker=spk
                    )
                    audio = root / rel
                    if cfg.check_media and not got.media.exists(audio):
                        got.missing(utt_id, f"missing audio: {audio}")
                        continue
                    info = speakers.get(spk) if isinstance(speakers, dict) else None
                    name = info.get("Name", spk) if isinstance(info, dict) else spk
                    name = names.resolve(str(name).strip(), f"{path}: {at}")
                    got.utterances.append(
                        Utterance(
                            id=utt_id,
                            speaker=f"{movie}_{name}",
                            group=f"{movie}/{dia}",
                            text=text,
                            audio=audio,
                            label=main,
                            labels=mul,
                            meta={
                                "series": movie,
                                "split": split,
                                "start": turn.get("StartTime"),
                                "end": turn.get("EndTime"),
                            },
                        )
                    )
                    parts[split].append(utt_id)
        for movie, split in split_of.items():
            if movie not in annotation:
                got.skip(movie, f"listed series not in annotation.json: {split}")
        official = Split(
            "official", tuple(parts["train"]), tuple(parts["dev"]), tuple(parts["test"])
        )
        protocol = make_protocol(
            card,
            labels,
            [official],
            multilabel=cfg.multilabel,
            overrides=card["multilabel"] if cfg.multilabel else None,
        )
        got.notes += declared.notes() + names.notes()
        return got.corpus("m3ed", protocol, root)

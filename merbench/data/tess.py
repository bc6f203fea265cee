"""TESS, the Toronto emotional speech set (``OAF_angry/OAF_back_angry.wav``, ...).

Two speakers (OAF older, YAF younger female talker) say "Say the word <word>" for 200 words in 7
emotions; a name is ``<speaker>_<word>_<emotion>.wav`` with emotions angry, disgust, fear, happy,
neutral, ps (pleasant surprise; ``pleasant_surprise`` also accepted) and sad. The text is known
from the name: "Say the word <word>.".
Protocol (card ``datasets/tess.toml``): 7 classes, 2 speaker-independent folds (test = one
speaker); with two speakers the dev split cannot be a third speaker, so dev = the training
speaker's utterances of every fifth word (sorted), word-disjoint from train.
The release misnames one file, ``OAF_neutral/OA_bite_neutral.wav``: it is read as
``OAF_bite_neutral`` (`MISNAMED`), with a note naming it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from merbench.data.acted import ActedConfig, ActedCorpus, BadName, Parsed
from merbench.data.base import Split, Utterance
from merbench.errors import UserError
from merbench.registry import DATASETS

NAME_RE = re.compile(r"(OAF|YAF)_([A-Za-z']+)_([A-Za-z_]+)", re.IGNORECASE)
DEV_EVERY = 5  # every fifth word (sorted) of the training speaker is dev
#: Known misnamed files of the release: (folder, stem) -> the stem the scheme gives them.
MISNAMED = {("oaf_neutral", "oa_bite_neutral"): "OAF_bite_neutral"}


@DATASETS.register("tess", config=ActedConfig)
class TessCorpus(ActedCorpus):
    """TESS from its folder (the per-emotion folders or the files, searched recursively)."""

    name = "tess"
    scheme = "TESS <OAF|YAF>_<word>_<emotion>.wav"

    def find(self, root: Path | None) -> Path:
        if root is None:
            raise UserError("tess: no corpus folder given (--data-root or MERBENCH_DATA)")
        root = Path(root).expanduser()
        if not root.is_dir():
            raise UserError(f"{root}: folder not found")
        if not any(root.rglob("[OY]AF_*")):
            raise UserError(f"{root}: no TESS corpus here (expected OAF_*.wav / YAF_*.wav files)")
        return root

    def parse(self, path: Path) -> Parsed:
        stem = MISNAMED.get((path.parent.name.lower(), path.stem.lower()), path.stem)
        match = NAME_RE.fullmatch(stem)
        if not match:
            raise BadName("expected speaker_word_emotion, e.g. OAF_back_angry.wav")
        speaker, word, emotion = match.groups()
        emotion = emotion.lower()
        note = ""
        if stem != path.stem:
            note = (f"{path.parent.name}/{path.name}: read as {stem} (a file the TESS release "
                    "misnames)")  # fmt: skip
        return Parsed(f"{speaker.upper()}_{word.lower()}_{emotion}", speaker.upper(), emotion,
                      word.lower(), note=note)  # fmt: skip

    def text(self, parsed: Parsed, sentences: dict[str, str]) -> str:
        return f"Say the word {parsed.sentence}."

    def splits(self, utterances: list[Utterance], card: dict[str, Any]) -> tuple[Split, ...]:
        words = sorted({u.meta["sentence"] for u in utterances})
        dev_words = set(words[DEV_EVERY - 1 :: DEV_EVERY])
        out = []
        for k, fold in enumerate(self.fold_lists(card), start=1):
            test = [u.id for u in utterances if u.speaker in fold]
            rest = [u for u in utterances if u.speaker not in fold]
            dev = [u.id for u in rest if u.meta["sentence"] in dev_words]
            train = [u.id for u in rest if u.meta["sentence"] not in dev_words]
            out.append(Split(f"fold{k}", tuple(train), tuple(dev), tuple(test)))
        return tuple(out)

"""EmoDB, the Berlin Database of Emotional Speech (``wav/SSTTTEV.wav``, e.g. ``03a01Fa.wav``).

Speaker (03, 08-16), text code (a01, a02, a04, a05, a07, b01, b02, b03, b09, b10: ten German
sentences, given in the card so ``text=gold`` gives the German sentence), emotion letter (W anger,
L boredom, E disgust, A fear, F happiness, T sadness, N neutral) and a version letter.
Protocol (card ``datasets/emodb.toml``): 7 classes, leave one speaker out (10 folds).
"""

from __future__ import annotations

import re
from pathlib import Path

from merbench.data.acted import ActedConfig, ActedCorpus, BadName, Parsed
from merbench.data.common import find_root
from merbench.registry import DATASETS

NAME_RE = re.compile(r"(\d\d)([ab]\d\d)([WLEAFTN])([a-z])")


#: The gender of each of the ten speakers, as the corpus documentation lists them.
GENDERS = {"03": "M", "08": "F", "09": "F", "10": "M", "11": "M", "12": "M", "13": "F", "14": "F",
           "15": "M", "16": "F"}  # fmt: skip


@DATASETS.register("emodb", config=ActedConfig)
class EmoDbCorpus(ActedCorpus):
    """EmoDB from its folder (the one holding ``wav/``)."""

    name = "emodb"
    scheme = "EmoDB SSTTTEV.wav"
    recursive = False

    def find(self, root: Path | None) -> Path:
        return find_root(root, "wav", ("emodb", "EmoDB", "download"), "EmoDB") / "wav"

    def parse(self, path: Path) -> Parsed:
        match = NAME_RE.fullmatch(path.stem)
        if not match:
            raise BadName("expected speaker, text code, emotion letter, version, e.g. 03a01Fa.wav")
        speaker, sentence, emotion, version = match.groups()
        meta = {"version": version, **({"gender": GENDERS[speaker]} if speaker in GENDERS else {})}
        return Parsed(path.stem, speaker, emotion, sentence, meta)

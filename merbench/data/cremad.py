"""CREMA-D (``AudioWAV/AAAA_SSS_EEE_LL.wav``): actor id (1001-1091), sentence code (12 sentences,
e.g. ``DFA`` "Don't forget a jacket"), emotion (ANG, DIS, FEA, HAP, NEU, SAD), level (LO, MD, HI,
XX = unspecified). Protocol (card ``datasets/cremad.toml``): 6 classes, 5 speaker-independent
folds of the 91 actors.
"""

from __future__ import annotations

import re
from pathlib import Path

from merbench.data.acted import ActedConfig, ActedCorpus, BadName, Parsed
from merbench.data.common import find_root
from merbench.registry import DATASETS

NAME_RE = re.compile(r"(\d{4})_([A-Z]{3})_([A-Z]{3})_([A-Z]{2})")
LEVELS = ("LO", "MD", "HI", "XX")


@DATASETS.register("cremad", config=ActedConfig, aliases=("crema-d",))
class CremaDCorpus(ActedCorpus):
    """CREMA-D from ``AudioWAV/`` (or the folder holding it)."""

    name = "cremad"
    scheme = "CREMA-D AAAA_SSS_EEE_LL.wav"
    recursive = False

    def find(self, root: Path | None) -> Path:
        return find_root(root, "AudioWAV", ("CREMA-D",), "CREMA-D") / "AudioWAV"

    def parse(self, path: Path) -> Parsed:
        match = NAME_RE.fullmatch(path.stem)
        if not match:
            raise BadName("expected actor_sentence_emotion_level, e.g. 1001_DFA_ANG_XX.wav")
        actor, sentence, emotion, level = match.groups()
        if level not in LEVELS:
            raise BadName(f"level {level!r} is not one of {', '.join(LEVELS)}")
        return Parsed(path.stem, actor, emotion, sentence, {"level": level})

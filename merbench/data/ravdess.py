"""RAVDESS speech (``Audio_Speech_Actors_01-24/Actor_NN/MM-VV-EE-II-SS-RR-AA.wav``).

Seven two-digit fields: modality (03 = audio only), vocal channel (01 = speech, 02 = song), emotion
(01 neutral ... 08 surprised), intensity (01 normal, 02 strong), statement (01 "Kids are talking
by the door", 02 "Dogs are sitting by the door"), repetition, actor (01-24; odd male, even female).
Song files and audio-visual copies are recorded as skipped (the protocol is speech, audio only).
Protocol (card ``datasets/ravdess.toml``): 8 classes, 6 speaker-independent folds of 4 actors.
"""

from __future__ import annotations

import re
from pathlib import Path

from merbench.data.acted import ActedConfig, ActedCorpus, BadName, Parsed
from merbench.data.common import find_root
from merbench.registry import DATASETS

NAME_RE = re.compile(r"(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)")


@DATASETS.register("ravdess", config=ActedConfig)
class RavdessCorpus(ActedCorpus):
    """RAVDESS speech from ``Audio_Speech_Actors_01-24/`` (or a folder of ``Actor_NN/``)."""

    name = "ravdess"
    scheme = "RAVDESS MM-VV-EE-II-SS-RR-AA.wav"

    def find(self, root: Path | None) -> Path:
        return find_root(root, "Actor_01", ("Audio_Speech_Actors_01-24", "RAVDESS"), "RAVDESS")

    def parse(self, path: Path) -> Parsed:
        match = NAME_RE.fullmatch(path.stem)
        if not match:
            raise BadName("expected seven two-digit fields, e.g. 03-01-05-01-02-01-12.wav")
        modality, channel, emotion, intensity, statement, repetition, actor = match.groups()
        if path.parent.name != f"Actor_{actor}":
            raise BadName(f"actor {actor} in the name but the file is in {path.parent.name}/")
        utt_id = path.stem
        if modality != "03" or channel != "01":
            kind = "song" if channel == "02" else f"modality {modality}"
            return Parsed(utt_id, actor, emotion, statement, skip=f"not speech audio: {kind}")
        gender = "M" if int(actor) % 2 else "F"  # odd actors are male, even female
        meta = {"intensity": intensity, "repetition": repetition, "gender": gender}
        return Parsed(utt_id, actor, emotion, statement, meta)

"""The embedded corpus `synth`: English sentences acted by eSpeak-NG voices, generated on first use.

Laid out like IEMOCAP: sessions ``Ses01..Ses05``, two speakers per session (distinct eSpeak voice
variants, female ``F`` and male ``M``), four classes (neutral, happy, sad, angry). The label is the
*acted* emotion, carried by the voice through prosody (rate, pitch, pitch range, volume; centred per
emotion, strongest on arousal, with per-speaker offsets and per-utterance jitter so classes
overlap). The text carries emotion through words (emotion lexicons inside neutral frames, strongest
on valence: the negative lexicon is largely shared by sad and angry) and is inconsistent with the
voice in a set share of utterances: ``meta["consistent"]`` says which, ``meta["text_emotion"]`` what
the words say. Neither modality alone suffices (numbers in `datasets/synth.toml`).

Generation is deterministic from the config (seed included) and cached under
``cache_dir()/corpora/synth-<hash of config>/``, written into a temporary folder and renamed into
place, so an interrupted or concurrent generation never leaves a half corpus behind.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from merbench.data.base import Corpus, CorpusLoader, Utterance
from merbench.data.card import leave_one_group_out, load_card, make_protocol
from merbench.errors import UserError
from merbench.paths import cache_dir
from merbench.registry import DATASETS

#: Bump when the generator's output changes for the same config (it is part of the cache key).
GENERATOR_VERSION = 3
SAMPLE_RATE = 16_000
CLASSES = ("neutral", "happy", "sad", "angry")


@dataclass
class SynthConfig:
    """Options of the embedded corpus (all part of the cache key except `cache`)."""

    seed: int = 0  # everything (assignment, text, prosody jitter) derives from it
    sessions: int = 5  # Ses01..SesNN; the protocol is leave-one-session-out (needs >= 3)
    utterances_per_session: int = 60  # split over 2 speakers x 4 classes
    consistent_share: float = 0.6  # text says the acted emotion
    neutral_text_share: float = 0.2  # neutral words (for neutral voices: another emotion's words)
    cache: str = ""  # folder holding generated corpora; default cache_dir()/corpora


# -- prosody: per-emotion centres (arousal strong, valence weak), speaker offsets, jitter ---------
#: (rate words/min, pitch 0-100, pitch range 0-100, volume 0-200) per emotion.
PROSODY_CENTRES = {
    "neutral": (155.0, 45.0, 32.0, 90.0),
    "sad": (145.0, 41.0, 24.0, 82.0),
    "happy": (205.0, 61.0, 74.0, 123.0),
    "angry": (212.0, 55.0, 62.0, 132.0),
}
#: Standard deviation of the per-utterance jitter, same order as the centres.
PROSODY_JITTER = (16.0, 6.0, 12.0, 12.0)
#: Standard deviation of the per-speaker offset, same order as the centres.
SPEAKER_JITTER = (12.0, 6.0, 8.0, 8.0)
PROSODY_LIMITS = ((90, 320), (0, 99), (0, 99), (40, 150))

# -- text: neutral frames and emotion lexicons (valence strong, sad vs angry weak) ----------------
SUBJECTS = ("I", "We", "They", "My sister", "The manager", "Our neighbour", "You", "He", "She")
ACTIONS = (
    "moved the meeting to {day}",
    "left the keys on the kitchen table",
    "took the early train to the city",
    "checked the report again",
    "painted the fence in the garden",
    "called the office about the parcel",
    "found the old letters in the attic",
    "changed the plan for the weekend",
    "sold the car last {day}",
    "read the whole contract",
    "cooked dinner for the family",
    "got the results from the clinic",
    "heard the news about the factory",
    "booked the tickets for {day}",
    "opened the box from the bank",
)
DAYS = ("Monday", "Tuesday", "Friday", "Sunday", "the holiday")
LEXICON = {
    "happy": (
        "That is wonderful",
        "I am so glad",
        "What fantastic news",
        "I love it",
        "This is brilliant",
        "I am thrilled",
        "How lovely",
        "That made my day",
    ),
    # hedges of neutral sentences: every sentence has two phrases, so length says nothing
    "neutral": (
        "As far as I know",
        "For the record",
        "By the way",
        "As it happens",
        "To be precise",
        "If I remember right",
        "According to the note",
        "Just so you know",
    ),
    # the negative words both sad and angry use: text separates valence better than sad vs angry
    "negative": (
        "This is terrible",
        "That is awful",
        "What a horrible day",
        "I hate this",
        "This is a disaster",
        "It is all ruined",
    ),
    "sad": (
        "I miss them so much",
        "I feel so empty",
        "It breaks my heart",
        "I could just cry",
        "I am so lonely",
    ),
    "angry": (
        "How dare they",
        "I am furious",
        "This is outrageous",
        "I am sick of this",
        "Stop lying to me",
    ),
}
#: Probability that a sad or angry sentence takes its words from the shared negative lexicon.
SHARED_NEGATIVE = 0.5


def _frame(rng: np.random.Generator) -> str:
    action = ACTIONS[rng.integers(len(ACTIONS))].format(day=DAYS[rng.integers(len(DAYS))])
    return f"{SUBJECTS[rng.integers(len(SUBJECTS))]} {action}"


def _phrase(emotion: str, rng: np.random.Generator) -> str:
    pool = emotion
    if emotion in ("sad", "angry") and rng.random() < SHARED_NEGATIVE:
        pool = "negative"
    return LEXICON[pool][rng.integers(len(LEXICON[pool]))]


def compose_text(emotion: str, rng: np.random.Generator) -> str:
    """A sentence whose words say `emotion`: a neutral frame between two phrases of its lexicon
    (neutral hedges for neutral text, so that length says nothing); each phrase of a sad or angry
    sentence comes from the shared negative lexicon with probability `SHARED_NEGATIVE`."""
    frame = _frame(rng)
    first = _phrase(emotion, rng)
    last = _phrase(emotion, rng)
    while last == first:
        last = _phrase(emotion, rng)
    return f"{first}, {frame[0].lower()}{frame[1:]}. {last}."


def voices(sessions: int) -> dict[str, str]:
    """Speaker id -> eSpeak voice: a distinct variant per speaker (female F, male M per session)."""
    out = {}
    for s in range(1, sessions + 1):
        base = "en-us" if s % 2 else "en"
        out[f"Ses{s:02d}F"] = f"{base}+f{(s - 1) % 5 + 1}"
        out[f"Ses{s:02d}M"] = f"{base}+m{(s - 1) % 8 + 1}"
    return out


def plan(config: SynthConfig) -> list[dict]:
    """The records of the corpus (no audio): id, speaker, session, label, text, prosody, voice.

    Per session, labels cycle over the four classes and speakers alternate, then the order is
    shuffled. Within each (session, class) group the text modes are assigned by exact counts:
    ``round(n * consistent_share)`` consistent, ``round(n * neutral_text_share)`` neutral text
    (another emotion's text for neutral voices, so every class has the same inconsistent share),
    the rest another emotion's text.
    """
    rng = np.random.default_rng(config.seed)
    speaker_voice = voices(config.sessions)
    offsets = {spk: rng.normal(0, SPEAKER_JITTER) for spk in speaker_voice}
    records: list[dict] = []
    for s in range(1, config.sessions + 1):
        n = config.utterances_per_session
        slots = [(CLASSES[i % 4], "FM"[(i // 4) % 2]) for i in range(n)]
        order = rng.permutation(n)
        slots = [slots[i] for i in order]
        modes: dict[int, str] = {}
        for label in CLASSES:
            idx = [i for i, (lab, _) in enumerate(slots) if lab == label]
            k_cons = round(len(idx) * config.consistent_share)
            k_neu = round(len(idx) * config.neutral_text_share)
            shuffled = [idx[j] for j in rng.permutation(len(idx))]
            for rank, i in enumerate(shuffled):
                modes[i] = (
                    "consistent"
                    if rank < k_cons
                    else "neutral"
                    if rank < k_cons + k_neu
                    else "other"
                )
        counters = {"F": 0, "M": 0}
        for i, (label, gender) in enumerate(slots):
            speaker = f"Ses{s:02d}{gender}"
            mode = modes[i]
            if mode == "consistent":
                text_emotion = label
            elif mode == "neutral" and label != "neutral":
                text_emotion = "neutral"
            else:
                others = [c for c in CLASSES if c not in (label, "neutral")]
                text_emotion = others[rng.integers(len(others))]
            centre = np.asarray(PROSODY_CENTRES[label])
            values = centre + offsets[speaker] + rng.normal(0, PROSODY_JITTER)
            prosody = [
                int(np.clip(round(v), lo, hi))
                for v, (lo, hi) in zip(values, PROSODY_LIMITS, strict=True)
            ]
            records.append(
                {
                    "id": f"{speaker}_synth_{gender}{counters[gender]:03d}",
                    "speaker": speaker,
                    "session": f"Ses{s:02d}",
                    "label": label,
                    "text": compose_text(text_emotion, rng),
                    "text_emotion": text_emotion,
                    "consistent": text_emotion == label,
                    "voice": speaker_voice[speaker],
                    "prosody": prosody,
                }
            )
            counters[gender] += 1
    return records


def config_key(config: SynthConfig) -> str:
    """The cache key: a hash of the generator version and every content-relevant option."""
    fields = {k: v for k, v in dataclasses.asdict(config).items() if k != "cache"}
    blob = json.dumps({"version": GENERATOR_VERSION, **fields}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def generate(config: SynthConfig, folder: Path) -> None:
    """Synthesise the corpus into `folder` (which must not exist yet): ``wav/<session>/<id>.wav``
    (16 kHz mono PCM16) and ``utterances.json``; atomic through a temporary sibling folder."""
    import soundfile as sf

    from merbench.data.audio import resample
    from merbench.data.espeak import Prosody, Speaker

    speaker = Speaker()  # fresh engine: output depends only on this call sequence
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=folder.name + ".tmp-", dir=folder.parent))
    try:
        records = plan(config)
        for k, rec in enumerate(records):
            wave = speaker.say(rec["text"], rec["voice"], Prosody(*rec["prosody"]), seed=k + 1)
            wave = resample(wave.astype(np.float32) / 32768.0, speaker.sample_rate, SAMPLE_RATE)
            path = tmp / "wav" / rec["session"] / f"{rec['id']}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(str(path), np.clip(wave, -1.0, 1.0), SAMPLE_RATE, subtype="PCM_16")
        meta = {"config": dataclasses.asdict(config), "version": GENERATOR_VERSION}
        (tmp / "config.json").write_text(json.dumps(meta, indent=1))
        (tmp / "utterances.json").write_text(json.dumps(records, indent=0, ensure_ascii=False))
        try:
            os.rename(tmp, folder)
        except OSError:
            if not (folder / "utterances.json").is_file():  # not a concurrent winner: a real error
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


@DATASETS.register("synth", config=SynthConfig)
class SynthCorpus(CorpusLoader):
    """The embedded corpus, generated on first use into ``config.cache`` (default
    ``cache_dir()/corpora``). ``load(root)`` ignores `root`: a generated corpus has no user folder,
    and ``--data-root``/``MERBENCH_DATA`` point at the user's licensed corpora, where merbench must
    not write."""

    config: SynthConfig

    def folder(self) -> Path:
        """Where this config's corpus lives (whether or not it has been generated yet)."""
        base = Path(self.config.cache).expanduser() if self.config.cache else None
        base = base or cache_dir() / "corpora"
        return base / f"synth-{config_key(self.config)}"

    def load(self, root: Path | None = None) -> Corpus:
        cfg = self.config
        if cfg.sessions < 3:
            raise UserError(
                f"datasets/synth.sessions: need at least 3 sessions, got {cfg.sessions}"
            )
        if cfg.utterances_per_session < 8:
            raise UserError(
                "datasets/synth.utterances_per_session: need at least 8 (2 speakers x 4 classes), "
                f"got {cfg.utterances_per_session}"
            )
        if not (0 <= cfg.consistent_share and 0 <= cfg.neutral_text_share) or (
            cfg.consistent_share + cfg.neutral_text_share > 1
        ):
            raise UserError(
                "datasets/synth: consistent_share and neutral_text_share must be >= 0, sum <= 1"
            )
        folder = self.folder()
        if not (folder / "utterances.json").is_file():
            generate(cfg, folder)
        records = json.loads((folder / "utterances.json").read_text())
        utterances = [
            Utterance(
                id=r["id"],
                speaker=r["speaker"],
                group=r["session"],
                text=r["text"],
                audio=folder / "wav" / r["session"] / f"{r['id']}.wav",
                label=r["label"],
                meta={
                    "consistent": r["consistent"],
                    "text_emotion": r["text_emotion"],
                    "gender": r["speaker"][-1],
                },
            )
            for r in records
        ]
        card = load_card("synth")
        sessions = [f"Ses{s:02d}" for s in range(1, cfg.sessions + 1)]
        splits = leave_one_group_out(utterances, sessions, card["protocol"].get("dev_rule", ""))
        protocol = make_protocol(card, CLASSES, splits)
        return Corpus("synth", utterances, protocol, root=folder)

"""Writers of small corpora in the real distributed layouts (docs/corpora.md), quirks included.

Used by the tests and the loader benchmark (and by anyone who needs a corpus on disk without the
licensed data): IEMOCAP with evaluator lines, ``%`` headers, unannotated ``XX`` transcription lines
and non-dialogue files; MELD CSVs with quoted commas and non-ASCII text, real aac-in-mp4 media;
M3ED annotation.json with split lists; RAVDESS, CREMA-D, TESS and EmoDB trees whose file names
carry the labels (TESS with its inconsistently capitalised folders). Audio is a short tone unless `audio` says otherwise:
``"tone"`` (real content), ``"empty"`` (zero-byte file, fast, for count benchmarks), ``"silent"``
or ``"nan"`` (decodable samples with nothing in them) or ``None`` (no file); `replace_entry`
turns a file of a tree into what a damaged copy holds instead (a folder, a dangling or looping
link, another format).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from merbench.data.base import Corpus


def tone(seconds: float = 0.5, sample_rate: int = 16000, freq: float = 220.0) -> np.ndarray:
    """A float32 sine ``[samples]`` at amplitude 0.3."""
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def write_wav(path: Path, audio: str | None = "tone", sample_rate: int = 16000) -> None:
    """Write a wav per `audio`: ``"tone"``, ``"silent"`` (every sample 0), ``"nan"`` (float
    samples, every one NaN), ``"empty"`` (a zero-byte file) or None (nothing)."""
    if audio is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    if audio == "empty":
        path.touch()
        return
    import soundfile as sf

    wave = tone(sample_rate=sample_rate)
    if audio in ("silent", "nan"):
        wave = np.full_like(wave, 0.0 if audio == "silent" else np.nan)
        sf.write(str(path), wave, sample_rate, subtype="FLOAT")
        return
    sf.write(str(path), wave, sample_rate, subtype="PCM_16")


#: How `replace_entry` can damage an entry of a corpus tree.
ENTRY_KINDS = ("directory", "broken-link", "link-loop", "flac", "other-format")


def replace_entry(path: Path, kind: str) -> Path:
    """Replace the wav `path` of a corpus tree by an entry of `kind` (`ENTRY_KINDS`) under the same
    name: a directory, a symbolic link to nothing or to itself, the same audio as flac (a format
    the decoder reads), or the file renamed to ``.mp3``. Returns the new entry's path."""
    import soundfile as sf

    if kind == "flac":
        wave, rate = sf.read(str(path), dtype="float32")
        new = path.with_suffix(".flac")
        sf.write(str(new), wave, rate, format="FLAC")
        path.unlink()
        return new
    if kind == "other-format":
        return path.rename(path.with_suffix(".mp3"))
    path.unlink()
    if kind == "directory":
        path.mkdir()
    elif kind == "broken-link":
        path.symlink_to("gone.wav")
    elif kind == "link-loop":
        path.symlink_to(path.name)
    else:
        raise ValueError(f"kind {kind!r}; valid: {', '.join(ENTRY_KINDS)}")
    return path


def write_mp4(path: Path, seconds: float = 1.0, sample_rate: int = 44100) -> None:
    """A real mp4 with one aac audio stream of `seconds` of tone (PyAV)."""
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    wave = tone(seconds, sample_rate)
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=sample_rate)
        stream.layout = "mono"
        frame_size = 1024
        for i in range(0, len(wave), frame_size):
            chunk = wave[i : i + frame_size].reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(chunk, format="flt", layout="mono")
            frame.sample_rate = sample_rate
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


# -- IEMOCAP ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class IemocapUtt:
    """One utterance to write: id like ``Ses01F_impro01_M003`` (dialogue = id minus the last part)."""

    id: str
    label: str
    text: str = "Excuse me."

    @property
    def dialog(self) -> str:
        return self.id.rsplit("_", 1)[0]

    @property
    def session(self) -> int:
        return int(self.id[3:5])


def write_iemocap(root: Path, utts: Iterable[IemocapUtt], audio: str | None = "tone") -> Path:
    """Write ``root/IEMOCAP_full_release`` holding `utts`; returns the release folder.

    Each dialogue gets a ``%`` header, evaluator lines after every header, an unannotated ``XX``
    transcription line and a line without a bracket; each EmoEvaluation folder also gets a
    non-dialogue file and attribute subfolders, which the loader must ignore.
    """
    release = root / "IEMOCAP_full_release"
    by_dialog: dict[str, list[IemocapUtt]] = {}
    for u in utts:
        by_dialog.setdefault(u.dialog, []).append(u)
    for s in range(1, 6):
        emo_dir = release / f"Session{s}" / "dialog" / "EmoEvaluation"
        (emo_dir / "Categorical").mkdir(parents=True, exist_ok=True)
        (emo_dir / "Categorical" / f"Ses0{s}F_impro01_e1_cat.txt").write_text("junk\n")
        (emo_dir / "Attribute").mkdir(exist_ok=True)
        (emo_dir / "notes.txt").write_text("not a dialogue\n")
        (release / f"Session{s}" / "dialog" / "transcriptions").mkdir(parents=True, exist_ok=True)
    for dialog, items in by_dialog.items():
        s = items[0].session
        emo = ["% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]", ""]
        trans = []
        t = 1.0
        for k, u in enumerate(items):
            start, end = t, t + 2.0
            t = end + 0.5
            emo.append(f"[{start:.4f} - {end:.4f}]\t{u.id}\t{u.label}\t[2.5000, 3.0000, 2.0000]")
            emo.append("C-E1:\tNeutral;\t()")
            emo.append("C-E2:\tNeutral; Frustration;\t(tired)")
            emo.append("A-E1:\tval 3; act 2; dom  3;\t()")
            emo.append("")
            trans.append(f"{u.id} [{start:08.4f}-{end:08.4f}]: {u.text}")
            if k == 0:
                gender = u.id.rsplit("_", 1)[1][0]
                trans.append(f"{dialog}_{gender}XX0 [{end:08.4f}-{end + 0.3:08.4f}]: [LAUGHTER]")
                trans.append("M: [BREATHING]")
            write_wav(release / f"Session{s}" / "sentences" / "wav" / dialog / f"{u.id}.wav", audio)
        dialog_dir = release / f"Session{s}" / "dialog"
        (dialog_dir / "EmoEvaluation" / f"{dialog}.txt").write_text("\n".join(emo) + "\n")
        (dialog_dir / "transcriptions" / f"{dialog}.txt").write_text("\n".join(trans) + "\n")
    return release


#: Per-session counts of IEMOCAP's 4-class protocol (neu, hap+exc, sad, ang) in the real release.
IEMOCAP_4CLASS_COUNTS = {
    1: {"neu": 384, "hap": 135, "exc": 143, "sad": 194, "ang": 229},
    2: {"neu": 362, "hap": 117, "exc": 210, "sad": 197, "ang": 137},
    3: {"neu": 320, "hap": 135, "exc": 151, "sad": 305, "ang": 240},
    4: {"neu": 258, "hap": 65, "exc": 238, "sad": 143, "ang": 327},
    5: {"neu": 384, "hap": 143, "exc": 299, "sad": 245, "ang": 170},
}


def iemocap_release_like(
    counts: dict[int, dict[str, int]] = IEMOCAP_4CLASS_COUNTS,
    other: dict[str, int] | None = None,
    per_dialog: int = 40,
) -> list[IemocapUtt]:
    """Utterances with the given per-session label counts (plus `other` labels per session),
    spread over dialogues of `per_dialog` utterances, alternating speakers."""
    other = other if other is not None else {"fru": 370, "xxx": 480, "sur": 20, "fea": 8}
    utts = []
    for s, per_label in counts.items():
        labels = [lab for lab, n in {**per_label, **other}.items() for _ in range(n)]
        for i, lab in enumerate(labels):
            dialog = f"Ses0{s}{'FM'[(i // per_dialog) % 2]}_impro{i // per_dialog + 1:02d}"
            utts.append(
                IemocapUtt(f"{dialog}_{'FM'[i % 2]}{i % per_dialog:03d}", lab, f"Line {i}.")
            )
    return utts


# -- MELD -------------------------------------------------------------------------------------
MELD_COLUMNS = (
    "Sr No.",
    "Utterance",
    "Speaker",
    "Emotion",
    "Sentiment",
    "Dialogue_ID",
    "Utterance_ID",
    "Season",
    "Episode",
    "StartTime",
    "EndTime",
)
MELD_MEDIA_DIRS = {
    "train": "train_splits",
    "dev": "dev_splits_complete",
    "test": "output_repeated_splits_test",
}


@dataclass(frozen=True)
class MeldRow:
    dialogue: int
    utterance: int
    emotion: str
    text: str = "Oh my God, he's lost it."
    speaker: str = "Chandler"


def write_meld(
    root: Path,
    rows: dict[str, Sequence[MeldRow]],
    media: str | None = "mp4",
    columns: Sequence[str] = MELD_COLUMNS,
) -> Path:
    """Write ``root/MELD.Raw`` with one CSV per split in `rows` and a media file per row:
    ``"mp4"`` (1 s aac, PyAV), ``"wav"`` (same-stem wav), ``"empty"`` or None."""
    release = root / "MELD.Raw"
    release.mkdir(parents=True, exist_ok=True)
    for split, items in rows.items():
        path = release / f"{split}_sent_emo.csv"
        with open(path, "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(columns)
            for k, r in enumerate(items):
                full = {
                    "Sr No.": k + 1,
                    "Utterance": r.text,
                    "Speaker": r.speaker,
                    "Emotion": r.emotion,
                    "Sentiment": "neutral",
                    "Dialogue_ID": r.dialogue,
                    "Utterance_ID": r.utterance,
                    "Season": 3,
                    "Episode": 19,
                    "StartTime": "00:16:16,059",
                    "EndTime": "00:16:21,731",
                }
                writer.writerow([full[c] for c in columns])
        media_dir = release / MELD_MEDIA_DIRS[split]
        media_dir.mkdir(exist_ok=True)
        for r in items:
            stem = media_dir / f"dia{r.dialogue}_utt{r.utterance}"
            if media == "mp4":
                write_mp4(stem.with_suffix(".mp4"))
            elif media == "wav":
                write_wav(stem.with_suffix(".wav"))
            elif media == "empty":
                stem.with_suffix(".mp4").touch()
    return release


def meld_release_like(sizes: dict[str, int], per_dialog: int = 10) -> dict[str, list[MeldRow]]:
    """Rows of the given split sizes (MELD: 9,989 / 1,109 / 2,610), cycling the 7 emotions."""
    emotions = ("neutral", "joy", "surprise", "anger", "sadness", "disgust", "fear")
    return {
        split: [
            MeldRow(i // per_dialog, i % per_dialog, emotions[i % 7], f'He said, "hi" {i} — ok')
            for i in range(n)
        ]
        for split, n in sizes.items()
    }


# -- M3ED -------------------------------------------------------------------------------------
def write_m3ed(
    root: Path,
    movies: dict[str, dict[str, list[tuple[str, str, str, str]]]],
    splits: dict[str, Sequence[str]],
    audio: str | None = "tone",
    pattern: str = "modality_speech/{speaker}_{utt_id}.wav",
) -> Path:
    """Write ``root/M3ED``: `movies` is movie -> dialogue id -> [(utt_id, speaker, main, mul)],
    `splits` is train/val/test -> movie names (``splitInfo/movie_list_<split>.txt``)."""
    release = root / "M3ED"
    (release / "splitInfo").mkdir(parents=True, exist_ok=True)
    annotation: dict = {}
    for movie, dialogues in movies.items():
        annotation[movie] = {}
        for dia, utts in dialogues.items():
            speakers = sorted({spk for _, spk, _, _ in utts})
            annotation[movie][dia] = {
                "SpeakerInfo": {s: {"Name": f"{movie}-{s}", "Gender": "F"} for s in speakers},
                "Dialog": {
                    utt_id: {
                        "StartTime": "00:01:02.100",
                        "EndTime": "00:01:04.900",
                        "Text": f"你好，{utt_id}",
                        "Speaker": spk,
                        "EmoAnnotation": {
                            "EmoAnnotator1": main,
                            "EmoAnnotator2": main,
                            "EmoAnnotator3": "Neutral",
                            "final_main_emo": main,
                            "final_mul_emo": mul,
                        },
                    }
                    for utt_id, spk, main, mul in utts
                },
            }
            for utt_id, spk, _, _ in utts:
                rel = pattern.format(movie=movie, dialogue=dia, utt_id=utt_id, speaker=spk)
                write_wav(release / rel, audio)
    (release / "annotation.json").write_text(json.dumps(annotation, ensure_ascii=False, indent=1))
    for split, names in splits.items():
        (release / "splitInfo" / f"movie_list_{split}.txt").write_text("\n".join(names) + "\n")
    return release


# -- acted corpora: the labels are in the file names ------------------------------------------
RAVDESS_EMOTIONS = ("01", "02", "03", "04", "05", "06", "07", "08")


def write_ravdess(
    root: Path,
    actors: Sequence[int] = (1, 5, 9, 13, 17, 21),
    audio: str | None = "tone",
    complete: bool = False,
) -> Path:
    """``root/Audio_Speech_Actors_01-24/Actor_NN/03-01-EE-01-SS-01-NN.wav``: per actor, every
    emotion x both statements (16 files; one actor per card fold by default); the release folder.
    With `complete`, the release's 60 files of each actor (both intensities except for neutral,
    both repetitions) for all 24 actors: 1,440 files."""
    release = root / "Audio_Speech_Actors_01-24"
    intensities, repetitions = (("01", "02"), ("01", "02")) if complete else (("01",), ("01",))
    for actor in range(1, 25) if complete else actors:
        folder = release / f"Actor_{actor:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        for emotion in RAVDESS_EMOTIONS:
            for level in intensities[:1] if emotion == "01" else intensities:
                for statement in ("01", "02"):
                    for rep in repetitions:
                        name = f"03-01-{emotion}-{level}-{statement}-{rep}-{actor:02d}.wav"
                        write_wav(folder / name, audio)
    return release


def write_cremad(
    root: Path,
    actors: Sequence[int] = (1001, 1002, 1003, 1004, 1005),
    sentences: Sequence[str] = ("DFA", "IEO"),
    audio: str | None = "tone",
) -> Path:
    """``root/CREMA-D/AudioWAV/AAAA_SSS_EEE_XX.wav``: per actor and sentence, the 6 emotions
    (one actor per card fold by default); returns the ``CREMA-D`` folder."""
    release = root / "CREMA-D"
    (release / "AudioWAV").mkdir(parents=True, exist_ok=True)
    for actor in actors:
        for sentence in sentences:
            for emotion in ("ANG", "DIS", "FEA", "HAP", "NEU", "SAD"):
                write_wav(release / "AudioWAV" / f"{actor}_{sentence}_{emotion}_XX.wav", audio)
    return release


#: The per-emotion folders of the TESS release, with their inconsistent capitals.
TESS_FOLDERS = {
    "OAF": {"angry": "angry", "disgust": "disgust", "fear": "Fear", "happy": "happy",
            "neutral": "neutral", "ps": "Pleasant_surprise", "sad": "Sad"},
    "YAF": {"angry": "angry", "disgust": "disgust", "fear": "fear", "happy": "happy",
            "neutral": "neutral", "ps": "pleasant_surprised", "sad": "sad"},
}  # fmt: skip


def write_tess(
    root: Path,
    words: Sequence[str] = ("back", "bar", "base", "bath", "bean"),
    audio: str | None = "tone",
    sample_rate: int = 16000,
) -> Path:
    """``root/TESS/<speaker>_<Emotion>/<speaker>_<word>_<emotion>.wav`` for both speakers, every
    emotion and each of `words` (the release is at 24,414 Hz); returns the ``TESS`` folder.
    The word ``bite`` of OAF's neutral folder is written under the release's misnamed
    ``OA_bite_neutral.wav``."""
    release = root / "TESS"
    for speaker, folders in TESS_FOLDERS.items():
        for emotion, folder in folders.items():
            for word in words:
                name = f"{speaker}_{word}_{emotion}.wav"
                if (speaker, word, emotion) == ("OAF", "bite", "neutral"):
                    name = "OA_bite_neutral.wav"
                write_wav(release / f"{speaker}_{folder}" / name, audio, sample_rate)
    return release


def write_emodb(
    root: Path,
    speakers: Sequence[str] = ("03", "08", "09", "10", "11", "12", "13", "14", "15", "16"),
    sentences: Sequence[str] = ("a01", "b01"),
    audio: str | None = "tone",
) -> Path:
    """``root/emodb/wav/SSTTTEa.wav``: per speaker and sentence, the 7 emotion letters (version
    ``a``; ``03a01Fa.wav`` among them); returns the ``emodb`` folder."""
    release = root / "emodb"
    (release / "wav").mkdir(parents=True, exist_ok=True)
    for speaker in speakers:
        for sentence in sentences:
            for letter in "WLEAFTN":
                write_wav(release / "wav" / f"{speaker}{sentence}{letter}a.wav", audio)
    return release


def write_manifest_of(corpus: Corpus, folder: Path) -> Path:
    """``folder/manifest.csv`` describing `corpus` as a fold manifest (fold = the utterance's
    group, audio paths absolute): a corpus of another shape read by the manifest reader, e.g.
    a synth-like corpus to test a model trained on synth. Returns the manifest's path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "manifest.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "audio", "text", "label", "speaker", "fold"])
        for u in corpus.utterances:
            writer.writerow([u.id, str(u.audio), u.text, u.label, u.speaker, u.group])
    return path

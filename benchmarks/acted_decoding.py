"""Decoding cost per hour of audio of the acted corpora at their release rates, to 16 kHz.

TESS ships 24,414 Hz wavs: to 16 kHz that is up 8,000 / down 12,207, a ratio scipy's polyphase
filter serves with a 244,000-tap filter per file. `merbench.data.audio.resample` sends such ratios
to the SoX resampler instead. This writes small trees in each corpus's naming scheme at its
release rate (RAVDESS 48 kHz, TESS 24,414 Hz, EmoDB and CREMA-D 16 kHz; 2.5 s of tone per file),
decodes every file as `datasets check` does (`read_audio(path, 16000)`), alternating corpora
round by round in one process, and reports CPU seconds per hour of audio, the TESS / RAVDESS
ratio, and the same ratio through the polyphase filter alone (the path TESS used to take).

    .venv/bin/python benchmarks/acted_decoding.py [--quick]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchrows import load_note, row  # noqa: E402

SECONDS = 2.5  # per file
RATES = {"ravdess": 48000, "tess": 24414, "emodb": 16000, "cremad": 16000}


def write_trees(root: Path, per_tree: int) -> dict[str, list[Path]]:
    """Files in each corpus's scheme at its release rate: corpus -> wav paths."""
    import soundfile as sf

    from merbench.data.testing import tone

    names = {
        "ravdess": lambda k: f"Actor_01/03-01-0{k % 8 + 1}-01-01-{k // 8 + 1:02d}-01.wav",
        "tess": lambda k: f"OAF_angry/OAF_w{chr(97 + k % 26)}{chr(97 + k // 26)}_angry.wav",
        "emodb": lambda k: f"wav/03a{k % 10:02d}{'WLEAFTN'[k % 7]}{chr(97 + k // 70)}.wav",
        "cremad": lambda k: f"AudioWAV/1001_DFA_ANG_{k:02d}.wav",
    }
    trees: dict[str, list[Path]] = {}
    for corpus, rate in RATES.items():
        wave = tone(SECONDS, rate, freq=220.0)
        paths = [root / corpus / names[corpus](k) for k in range(per_tree)]
        for path in paths:
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(str(path), wave, rate, subtype="PCM_16")
        trees[corpus] = paths
    return trees


def decode_seconds(paths: list[Path], polyphase_only: bool = False) -> float:
    """CPU seconds to decode `paths` to 16 kHz (with `polyphase_only`, through scipy's filter)."""
    from merbench.data.audio import read_audio

    start = time.process_time()
    for path in paths:
        if polyphase_only:
            _polyphase(path)
        else:
            read_audio(path, 16000)
    return time.process_time() - start


def _polyphase(path: Path) -> None:
    from math import gcd

    import soundfile as sf
    from scipy.signal import resample_poly

    wave, rate = sf.read(str(path), dtype="float32")
    g = gcd(rate, 16000)
    resample_poly(wave, 16000 // g, rate // g)


def run(quick: bool = False) -> list[dict]:
    """Rows: CPU seconds per hour of audio for each corpus, and the TESS / RAVDESS ratios."""
    per_tree, rounds = (4, 1) if quick else (40, 3)
    with tempfile.TemporaryDirectory(prefix="merbench-decode-") as tmp:
        trees = write_trees(Path(tmp), per_tree)
        cpu = {corpus: 0.0 for corpus in trees}
        old = {"tess": 0.0, "ravdess": 0.0}
        for paths in trees.values():  # imports and first-call costs out of the figures
            decode_seconds(paths[:1])
            decode_seconds(paths[:1], polyphase_only=True)
        for _ in range(rounds):  # alternate corpora round by round: the machine is shared
            for corpus, paths in trees.items():
                cpu[corpus] += decode_seconds(paths)
            for corpus in old:
                old[corpus] += decode_seconds(trees[corpus], polyphase_only=True)
    hours = rounds * per_tree * SECONDS / 3600
    per_hour = {corpus: seconds / hours for corpus, seconds in cpu.items()}
    note = f"{per_tree} files x {SECONDS} s, {rounds} round(s); {load_note()}"
    rows = [
        row("acted_decoding", f"{corpus} ({RATES[corpus]} Hz) decode", value, "CPU s/h audio",
            note=note)
        for corpus, value in per_hour.items()
    ]  # fmt: skip
    ratio = per_hour["tess"] / per_hour["ravdess"]
    rows.append(row("acted_decoding", "TESS / RAVDESS per hour", ratio, "x", "<= 2x", ratio <= 2,
                    note))  # fmt: skip
    before = old["tess"] / old["ravdess"]
    rows.append(row("acted_decoding", "TESS / RAVDESS, polyphase filter only", before, "x",
                    note="the path TESS took before; " + note))  # fmt: skip
    return rows


if __name__ == "__main__":
    from benchrows import table

    print(table(run(quick="--quick" in sys.argv)))

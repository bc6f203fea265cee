"""Small corpora on disk for the guarantee tests: a fold manifest of short tones; and a real
small disk that fills (a tmpfs, root only)."""

from __future__ import annotations

import contextlib
import csv
import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np

LABELS = ("angry", "happy", "neutral", "sad")


def write_tone(path: Path, freq: float, seconds: float = 0.3, rate: int = 16000) -> None:
    import soundfile as sf

    t = np.arange(int(seconds * rate)) / rate
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32), rate,
             subtype="PCM_16")  # fmt: skip


def manifest_rows(folds: int = 3, per_class: int = 2) -> list[dict[str, str]]:
    rows = []
    for fold in range(1, folds + 1):
        for label in LABELS:
            for j in range(per_class):
                uid = f"f{fold}_{label}_{j}"
                rows.append({"id": uid, "audio": f"wav/{uid}.wav", "text": f"i feel {label} now",
                             "label": label, "speaker": f"s{j}", "fold": str(fold)})  # fmt: skip
    return rows


def write_manifest(
    folder: Path, rows: list[dict[str, str]] | None = None, *, audio: bool = True
) -> Path:
    """A fold manifest ``folder/manifest.csv`` (and its wavs, one tone per row) -> its path."""
    rows = manifest_rows() if rows is None else rows
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "manifest.csv"
    columns = list(rows[0]) if rows else ["id", "audio", "text", "label", "speaker", "fold"]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    if audio:
        for n, row in enumerate(rows):
            wav = folder / row["audio"]
            if row["audio"] and not wav.exists():
                write_tone(wav, 200.0 + 40 * n)
    return path


@contextlib.contextmanager
def mounted_tmpfs(mount: Path, size: str = "4m") -> Iterator[Path]:
    """A real small disk: an empty tmpfs of `size` mounted at `mount` for the block (root only;
    the test is skipped otherwise), unmounted afterwards."""
    import pytest

    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount.mkdir(parents=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)],
                          capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def fill(folder: Path) -> Path:
    """Write a file in `folder` until its disk is full; its path (delete it to free the space)."""
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as f:
        for size in (65536, 4096, 1):
            try:
                while True:
                    f.write(b"\0" * size)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
    return filler

"""What an acted-corpus release should hold, and what is wrong with an entry of it.

`entry_problem(path)` says why a directory entry named in a corpus's scheme cannot be read as
audio (a directory, a broken or looping symbolic link, a format the decoder does not read);
`shortfall(card, found)` compares what a copy holds with the release's expected counts in the
card's ``[release]`` table::

    [release]
    files = 1440                        # speech files of the release
    per_speaker = 60                    # every speaker of the folds (or a table speaker -> count)
    per_class = { neutral = 96, ... }   # label -> count (optional)
"""

from __future__ import annotations

import errno
import os
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

#: Audio formats the decoder reads (`merbench.data.audio`, through soundfile) that the acted-corpus
#: readers accept in place of the release's wav.
READABLE_SUFFIXES = (".wav", ".flac", ".ogg", ".aiff", ".aif")


def entry_problem(path: Path) -> str | None:
    """Why `path` (an entry whose name follows a corpus's scheme) is not a readable audio file,
    or None when it is a regular file (or a link to one) in a format of `READABLE_SUFFIXES`."""
    if path.is_symlink() and not path.exists():
        try:
            os.stat(path)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                return "a symbolic link loop"
        return f"a broken symbolic link (to {os.readlink(path)})"
    if path.is_dir():
        return "a directory, not an audio file"
    if not path.is_file():
        return "not a regular file"
    if path.suffix.lower() not in READABLE_SUFFIXES:
        readable = ", ".join(s[1:] for s in READABLE_SUFFIXES)
        kind = f"a {path.suffix} file" if path.suffix else "a file without extension"
        return f"{kind}, not a format merbench reads ({readable})"
    return None


def shortfall(
    card: dict[str, Any], speakers: Iterable[str], found: list[tuple[str, str]]
) -> list[str]:
    """What a copy lacks against the card's ``[release]`` counts; [] when complete or when the
    card states no counts.

    `found` holds ``(speaker, label)`` of every protocol file present (usable or not: an
    unusable one is reported on its own); `speakers` are the card's speakers. The first line
    gives the total; each speaker and class short of its count follows, as ``speaker 03: 54 of
    60 files (6 missing)``, and one line names those with no file at all.
    """
    release = card.get("release") or {}
    expected = int(release.get("files", 0))
    if not expected or len(found) >= expected:
        return []
    lines = [
        f"{len(found)} of the release's {expected} files are here ({expected - len(found)} missing)"
    ]
    per_speaker = release.get("per_speaker", {})
    if not isinstance(per_speaker, dict):
        per_speaker = {s: int(per_speaker) for s in speakers}
    have = Counter(s for s, _ in found)
    lines += _short("speaker", per_speaker, have)
    lines += _short("class", release.get("per_class", {}), Counter(label for _, label in found))
    return lines


def _short(kind: str, expected: dict[str, int], have: Counter) -> list[str]:
    """One line per `kind` (speaker, class) with fewer files than expected but some; one line
    for all those with none."""
    lines = [
        f"{kind} {key}: {have[key]} of {n} files ({n - have[key]} missing)"
        for key, n in expected.items()
        if 0 < have[key] < int(n)
    ]
    absent = [key for key, n in expected.items() if not have[key] and int(n)]
    if absent:
        total = sum(int(expected[key]) for key in absent)
        many = {"speaker": "speakers", "class": "classes"}.get(kind, kind) if absent[1:] else kind
        lines.append(f"{many} {', '.join(absent)}: none of the {total} files ({total} missing)")
    return lines

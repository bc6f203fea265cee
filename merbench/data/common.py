"""Helpers shared by the corpus loaders: the loaders' common opening (`open_release`: on_missing
checked, card and class set read, corpus folder found) and what they gather while reading
(`Gathered`: utterances, skips, the on_missing policy, cheap media existence checks), and strict
CSV reading."""

from __future__ import annotations

import csv
import io
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from merbench.data.base import Corpus, Protocol, Skip, Utterance
from merbench.data.card import class_set, load_card
from merbench.errors import UserError

ON_MISSING = ("skip", "fail")


def check_on_missing(value: str, where: str) -> str:
    """Validate an ``on_missing`` option (``skip`` or ``fail``)."""
    if value not in ON_MISSING:
        raise UserError(f"{where}.on_missing: {value!r} is not one of skip, fail")
    return value


class MediaIndex:
    """Existence checks that list each folder once (one ``listdir`` per folder, not a ``stat`` per
    file), so checking 10,000 media paths costs milliseconds."""

    def __init__(self) -> None:
        self._listings: dict[Path, frozenset[str]] = {}

    def names(self, folder: Path) -> frozenset[str]:
        """File names in `folder` (empty when it does not exist)."""
        if folder not in self._listings:
            try:
                self._listings[folder] = frozenset(os.listdir(folder))
            except (FileNotFoundError, NotADirectoryError):
                self._listings[folder] = frozenset()
        return self._listings[folder]

    def exists(self, path: Path) -> bool:
        return path.name in self.names(path.parent)


def record_missing(on_missing: str, skipped: list[Skip], utt_id: str, reason: str) -> None:
    """Record an unusable utterance (`reason` as ``"category: detail"``) or, when
    ``on_missing == "fail"``, raise a UserError naming it."""
    if on_missing == "fail":
        raise UserError(f"{utt_id}: {reason} (on_missing=fail; use on_missing=skip to skip it)")
    skipped.append(Skip(utt_id, reason))


@dataclass
class Gathered:
    """What a loader collects while it reads a corpus: the utterances kept, the skips with their
    reasons, notes for the user (`Corpus.notes`), and a `MediaIndex` for media existence checks. `missing` applies the ``on_missing``
    policy (`record_missing`); `skip` records an unusable utterance whatever the policy."""

    on_missing: str = "skip"
    media: MediaIndex = field(default_factory=MediaIndex)
    utterances: list[Utterance] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def skip(self, utt_id: str, reason: str) -> None:
        self.skipped.append(Skip(utt_id, reason))

    def missing(self, utt_id: str, reason: str) -> None:
        record_missing(self.on_missing, self.skipped, utt_id, reason)

    def corpus(
        self, name: str, protocol: Protocol, root: Path, excluded: dict[str, int] | None = None
    ) -> Corpus:
        return Corpus(
            name, self.utterances, protocol, self.skipped, root, excluded or {}, self.notes
        )


@dataclass(frozen=True)
class Release:
    """A corpus release opened by its loader: its folder, its card, its class set (`labels` in
    class-index order, `merge` raw label -> counted label)."""

    root: Path
    card: dict[str, Any]
    labels: tuple[str, ...]
    merge: dict[str, str]


def open_release(
    name: str,
    on_missing: str,
    root: Path | None,
    marker: str,
    release_dirs: tuple[str, ...],
    title: str,
    classes: str = "",
) -> tuple[Release, Gathered]:
    """The opening every release loader shares: check ``datasets/<name>.on_missing``, read the
    card `name` and its class set `classes` (`class_set`), find the folder holding `marker`
    (`find_root`), and start gathering under that policy. UserErrors as those helpers raise."""
    check_on_missing(on_missing, f"datasets/{name}")
    card = load_card(name)
    labels, merge = class_set(card, classes)
    folder = find_root(root, marker, release_dirs, title)
    return Release(folder, card, labels, merge), Gathered(on_missing)


def require_utterances(
    utterances: list[Utterance], skipped: list[Skip], where: str, total: int
) -> None:
    """Raise a UserError when no record of `total` survived, with the skips counted per reason
    (the part of `Skip.reason` before the colon): a corpus that lost everything must say why."""
    if utterances:
        return
    if not total:
        raise UserError(f"{where}: no utterances (the file or folder holds no records)")
    counts = Counter(s.reason.split(":", 1)[0] for s in skipped)
    why = ", ".join(f"{reason} {n}" for reason, n in counts.most_common()) or "no reason recorded"
    raise UserError(f"{where}: all {total} records were dropped ({why}); nothing left to use")


def find_root(root: Path | None, marker: str, release_dirs: tuple[str, ...], corpus: str) -> Path:
    """The corpus folder: `root` itself if it holds `marker`, else one of its `release_dirs`.

    Raises a UserError naming the path and what was expected when neither holds `marker`.
    """
    if root is None:
        raise UserError(f"{corpus}: no corpus folder given (--data-root or MERBENCH_DATA)")
    root = Path(root).expanduser()
    if not root.exists():
        raise UserError(f"{root}: folder not found")
    if (root / marker).exists():
        return root
    for sub in release_dirs:
        if (root / sub / marker).exists():
            return root / sub
    expected = " or ".join([marker, *(f"{d}/{marker}" for d in release_dirs)])
    raise UserError(f"{root}: no {corpus} corpus here (expected {expected})")


def read_csv_rows(
    path: Path, required: tuple[str, ...]
) -> tuple[list[str], list[tuple[int, dict]]]:
    """``(header, [(line number, row dict)])`` of a UTF-8 CSV; UserError naming the file (and line)
    for a missing file, bad encoding, missing columns or a row with the wrong number of fields."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{path}: file not found") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise UserError(f"{path}:{line}: not valid UTF-8 ({exc.reason})") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise UserError(f"{path}: empty file (no header line)") from None
    missing = [c for c in required if c not in header]
    if missing:
        raise UserError(
            f"{path}:1: missing column(s) {', '.join(missing)}; found: {', '.join(header)}"
        )
    rows = []
    start = reader.line_num + 1  # a quoted field may span lines: a row's number is its first line
    try:
        for fields in reader:
            line, start = start, reader.line_num + 1
            if not fields or all(not f.strip() for f in fields):
                continue
            if len(fields) != len(header):
                raise UserError(f"{path}:{line}: {len(fields)} fields, header has {len(header)}")
            rows.append((line, dict(zip(header, fields, strict=True))))
    except csv.Error as exc:
        raise UserError(f"{path}:{reader.line_num}: malformed CSV ({exc})") from None
    return header, rows

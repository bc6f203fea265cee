"""How labels and speaker ids are compared: two spellings are the same when they agree after
Unicode NFKC normalisation, removal of format characters (category Cf, e.g. U+200B zero-width
space), trimming and case folding (`spelling_key`).

Within a corpus that declares no label set, two different spellings of one key would silently
make two classes (or two speakers), so `check_spellings` raises one error naming both spellings
and where each occurs. Against a card's declared labels, `DeclaredLabels` reads a look-alike
spelling as the declared one and keeps a note of it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from merbench.errors import UserError


def spelling_key(text: str) -> str:
    """`text` NFKC-normalised, without format characters (Cf), trimmed and case-folded."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(c for c in text if unicodedata.category(c) != "Cf")
    return text.strip().casefold()


def show(text: str) -> str:
    """`text` quoted so that two look-alike spellings look different: its repr, followed by its
    ASCII escape when that differs (``'énervé' (\\xe9nerv\\xe9)``)."""
    shown, escaped = repr(text), ascii(text)
    return shown if shown == escaped else f"{shown} ({escaped[1:-1]})"


def check_spellings(
    values: Iterable[tuple[str, str]], what: str = "label", known: tuple[str, ...] = ()
) -> None:
    """Raise one UserError when two of `values` (``(value, where)`` pairs) or a value and one of
    `known` (a user's declared list) share a `spelling_key` but are spelled differently; the
    message names both spellings and where each occurs."""
    first: dict[str, tuple[str, str]] = {spelling_key(k): (k, "the declared list") for k in known}
    for value, where in values:
        seen = first.setdefault(spelling_key(value), (value, where))
        if seen[0] != value:
            raise UserError(
                f"{where}: {what} {show(value)} differs from {show(seen[0])} ({seen[1]}) only by "
                "case, spaces, invisible characters or Unicode normalisation; it would be "
                f"another {what}: write one spelling"
            )


class DeclaredLabels:
    """The spellings a card declares (labels and raw codes); `resolve` reads a look-alike as the
    declared spelling and records it, `notes()` says what was read so."""

    def __init__(self, declared: Iterable[str]) -> None:
        self.declared = frozenset(declared)
        self._by_key = {spelling_key(d): d for d in sorted(self.declared)}
        self._mapped: dict[tuple[str, str], list[str]] = {}

    def resolve(self, raw: str, where: str) -> str:
        """The declared spelling of `raw` (itself when declared; `raw` unchanged when nothing
        declared matches, for the caller to report as unknown)."""
        if raw in self.declared:
            return raw
        declared = self._by_key.get(spelling_key(raw))
        if declared is None:
            return raw
        self._mapped.setdefault((raw, declared), []).append(where)
        return declared

    def notes(self) -> list[str]:
        """One note per look-alike spelling read as a declared one: how many records, first where."""
        return [
            f"label {show(raw)} read as the declared {declared!r} ({len(places)} record(s), "
            f"first at {places[0]})"
            for (raw, declared), places in self._mapped.items()
        ]

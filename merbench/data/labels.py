"""How labels and speaker ids are compared: two spellings are the same when they agree after
Unicode NFKC normalisation, removal of format characters (category Cf, e.g. U+200B zero-width
space), trimming and case folding (`spelling_key`).

Within a corpus that declares no label set, two different spellings of one key would silently
make two classes (or two speakers), so `check_spellings` raises one error naming both spellings
and where each occurs. Against a card's declared labels, `Spellings` reads a look-alike spelling
as the declared one and keeps a note of it; for a release's speaker names it reads a look-alike as
the first spelling seen, with a note.
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


class Spellings:
    """One spelling per `spelling_key`: `resolve` reads a look-alike as the canonical spelling and
    records it, `notes()` says what was read so.

    With `declared` (a card's labels and codes) the canonical spellings are those, and a value
    matching none is returned unchanged for the caller to report as unknown; without, the first
    spelling seen of each key is canonical (a release's speaker names).
    """

    def __init__(self, what: str = "label", declared: Iterable[str] = ()) -> None:
        self.what = what
        self.declared = frozenset(declared)
        self._by_key = {spelling_key(d): d for d in sorted(self.declared)}
        self._first_at: dict[str, str] = {}
        self._mapped: dict[tuple[str, str], list[str]] = {}

    def resolve(self, raw: str, where: str) -> str:
        """The canonical spelling of `raw` (`where` locates it, for the note)."""
        if raw in self.declared:
            return raw
        key = spelling_key(raw)
        canonical = self._by_key.get(key)
        if canonical is None:
            if not self.declared:
                self._by_key[key], self._first_at[raw] = raw, where
            return raw
        if canonical != raw:
            self._mapped.setdefault((raw, canonical), []).append(where)
        return canonical

    def notes(self) -> list[str]:
        """One note per look-alike spelling read as a canonical one: how many records, where."""
        out = []
        for (raw, canonical), places in self._mapped.items():
            if self.declared:
                target = f"the declared {canonical!r}"
            else:
                target = f"{canonical!r} (first at {self._first_at[canonical]})"
            out.append(
                f"{self.what} {show(raw)} read as {target} ({len(places)} record(s), first at "
                f"{places[0]})"
            )
        return out

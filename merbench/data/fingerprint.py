"""Content hashes of media files, cached per file by (device, inode, size, mtime).

`content_hashes(paths)` returns a BLAKE2b digest of every file's bytes, so a corpus fingerprint
changes when any file's content changes, even at the same name and size. Hashing is the cost of
reading the files once (about 1 GB/s); the digests are cached in ``<cache root>/content-hashes.db``
(SQLite, safe for concurrent processes) keyed by the file's identity and modification time, so a
re-check costs one ``stat`` per file. A cache that cannot be written is skipped, never an error.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from merbench.paths import cache_dir

CHUNK = 1 << 20


def file_digest(path: Path) -> str:
    """BLAKE2b-128 hex digest of the bytes of `path`."""
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _open_cache() -> sqlite3.Connection | None:
    try:
        folder = cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(str(folder / "content-hashes.db"), timeout=60)
        db.execute(
            "CREATE TABLE IF NOT EXISTS hashes (ident TEXT PRIMARY KEY, digest TEXT NOT NULL)"
        )
        return db
    except (OSError, sqlite3.Error):
        return None


def content_hashes(paths: Iterable[Path]) -> dict[Path, str]:
    """``{path: digest}`` for every readable file of `paths` (unreadable ones: ``"missing"``)."""
    out: dict[Path, str] = {}
    idents: dict[Path, str] = {}
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            out[path] = "missing"
            continue
        idents[path] = f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"
    db = _open_cache()
    known: dict[str, str] = {}
    if db is not None and idents:
        try:
            wanted = list(set(idents.values()))
            for start in range(0, len(wanted), 500):
                part = wanted[start : start + 500]
                rows = db.execute(
                    f"SELECT ident, digest FROM hashes WHERE ident IN ({','.join('?' * len(part))})",
                    part,
                )
                known.update(rows.fetchall())
        except sqlite3.Error:
            known = {}
    fresh: list[tuple[str, str]] = []
    for path, ident in idents.items():
        digest = known.get(ident)
        if digest is None:
            try:
                digest = file_digest(path)
            except OSError:
                digest = "unreadable"
            else:
                fresh.append((ident, digest))
        out[path] = digest
    if db is not None:
        try:
            with db:
                db.executemany("INSERT OR REPLACE INTO hashes VALUES (?, ?)", fresh)
        except sqlite3.Error:
            pass
        db.close()
    return out

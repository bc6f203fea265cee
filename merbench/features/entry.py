"""A stored feature entry as it is read: its key, its memory-mapped shards (`FeatureSet`, checksums
verified on first open), and the summary `merbench features ls` shows (`EntryInfo`).

Every file of an entry is covered by a checksum: each shard and ``index.json`` by its SHA-256 in
``meta.json``, ``meta.json`` by ``checksum`` (`meta_checksum`: SHA-256 of its canonical JSON
without that field). The index must also agree with the metadata: ``count`` ids, and per shard,
rows that tile the shard exactly (no two ids on the same rows, no row unused). Any mismatch is
`CorruptEntry`: the store removes the entry and extracts it again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from merbench.keys import sha256_key

#: 2: ``index.json`` and ``meta.json`` checksummed (entries of format 1 are extracted again).
FORMAT_VERSION = 2
FP16_MAX = float(np.finfo(np.float16).max)


def entry_key(corpus_fingerprint: str, encoder_key: dict[str, Any], dtype: str = "float16") -> str:
    """The store key: SHA-256 of ``{"corpus": fingerprint, "encoder": encoder key}`` (+ dtype if
    not float16)."""
    payload: dict[str, Any] = {"corpus": corpus_fingerprint, "encoder": encoder_key}
    if dtype != "float16":
        payload["dtype"] = dtype
    return sha256_key(payload)


class CorruptEntry(Exception):
    """An entry whose files do not match its recorded checksums or sizes (internal signal)."""


def meta_checksum(meta: dict[str, Any]) -> str:
    """SHA-256 of `meta`'s canonical JSON without its ``checksum`` field."""
    return sha256_key({k: v for k, v in meta.items() if k != "checksum"})


def check_index(index: dict[str, Any], meta: dict[str, Any]) -> dict[str, tuple[int, int, int]]:
    """`index` as ``{id: (shard, offset, length)}`` if it agrees with `meta` (``count`` ids; per
    shard, the rows of its ids tile ``[0, rows)`` exactly), else `CorruptEntry`."""
    if not isinstance(index, dict) or len(index) != meta.get("count"):
        size = len(index) if isinstance(index, dict) else "no"
        raise CorruptEntry(f"index.json lists {size} ids, meta.json counts {meta.get('count')}")
    rows = [int(s["rows"]) for s in meta["shards"]]
    spans: list[list[tuple[int, int]]] = [[] for _ in rows]
    out: dict[str, tuple[int, int, int]] = {}
    for utt_id, where in index.items():
        ok = isinstance(where, list) and len(where) == 3 and all(type(v) is int for v in where)
        if not ok or not 0 <= where[0] < len(rows) or where[1] < 0 or where[2] < 0:
            raise CorruptEntry(f"index.json: {utt_id} points at {where!r}")
        spans[where[0]].append((where[1], where[2]))
        out[utt_id] = (where[0], where[1], where[2])
    for n, (shard_spans, total) in enumerate(zip(spans, rows, strict=True)):
        end = 0
        for offset, length in sorted(shard_spans):
            if offset != end:
                raise CorruptEntry(f"index.json: rows of shard {n} overlap or leave a gap")
            end += length
        if end != total:
            raise CorruptEntry(f"index.json covers {end} of the {total} rows of shard {n}")
    return out


_VERIFIED: dict[tuple[str, int, int], str] = {}


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CorruptEntry(f"{path.name} is unreadable ({exc.strerror or exc})") from None


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read_meta(path: Path) -> dict[str, Any]:
    """``meta.json`` of the entry at `path`, checked: readable, this format, its checksum."""
    try:
        meta = json.loads(_read_bytes(path / "meta.json").decode("utf-8"))
    except ValueError as exc:
        raise CorruptEntry(f"unreadable meta.json ({exc})") from None
    if not isinstance(meta, dict):
        raise CorruptEntry("meta.json is not an object")
    if meta.get("format") != FORMAT_VERSION:
        raise CorruptEntry(
            f"written in format {meta.get('format')}, not {FORMAT_VERSION} (index not checksummed)"
        )
    if meta.get("checksum") != meta_checksum(meta):
        raise CorruptEntry("meta.json fails its checksum")
    return meta


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


class FeatureSet:
    """The features of one corpus by one encoder: ``fs[utt_id] -> np.ndarray [T, dim]`` (float16,
    memory-mapped, read-only). `ids` lists the utterances in corpus order; `len(fs)` counts them."""

    def __init__(self, path: Path, verify: bool = True) -> None:
        self.path = path
        self.meta: dict[str, Any] = _read_meta(path)
        index_bytes = _read_bytes(path / "index.json")
        recorded = self.meta["index"]
        if len(index_bytes) != recorded["bytes"] or _sha256(index_bytes) != recorded["sha256"]:
            raise CorruptEntry("index.json fails its SHA-256 checksum")
        try:
            index = json.loads(index_bytes.decode("utf-8"))
        except ValueError as exc:
            raise CorruptEntry(f"unreadable index ({exc})") from None
        self._index: dict[str, tuple[int, int, int]] = check_index(index, self.meta)
        self.key: str = self.meta["key"]
        self.dim: int = int(self.meta["dim"])
        self.ids: tuple[str, ...] = tuple(self._index)
        self._shards = [self._open_shard(s, verify) for s in self.meta["shards"]]

    def _open_shard(self, shard: dict[str, Any], verify: bool) -> np.ndarray:
        file = self.path / shard["file"]
        try:
            st = file.stat()
        except OSError:
            raise CorruptEntry(f"{shard['file']} is missing") from None
        if st.st_size != shard["bytes"]:
            raise CorruptEntry(f"{shard['file']} has {st.st_size} bytes, expected {shard['bytes']}")
        if verify:
            memo = (str(file), st.st_size, st.st_mtime_ns)
            if _VERIFIED.get(memo) != shard["sha256"]:
                if _sha256_file(file) != shard["sha256"]:
                    raise CorruptEntry(f"{shard['file']} fails its SHA-256 checksum")
                _VERIFIED[memo] = shard["sha256"]
        try:
            array = np.load(file, mmap_mode="r", allow_pickle=False)
        except ValueError as exc:
            raise CorruptEntry(f"{shard['file']}: {exc}") from None
        if array.ndim != 2 or array.shape != (shard["rows"], self.dim):
            raise CorruptEntry(f"{shard['file']} has shape {array.shape}")
        return array

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, utt_id: object) -> bool:
        return utt_id in self._index

    def __iter__(self) -> Iterator[str]:
        return iter(self.ids)

    def __getitem__(self, utt_id: str) -> np.ndarray:
        shard, offset, length = self._index[utt_id]
        return self._shards[shard][offset : offset + length]

    def length(self, utt_id: str) -> int:
        """Number of frames/tokens T of `utt_id` (without reading the features)."""
        return self._index[utt_id][2]

    @property
    def encoder(self) -> dict[str, Any]:
        return self.meta["encoder"]

    def __repr__(self) -> str:
        return (
            f"FeatureSet({self.meta['corpus']}, {self.meta['encoder']['name']}, "
            f"n={len(self)}, dim={self.dim}, key={self.key[:12]})"
        )


@dataclass(frozen=True)
class EntryInfo:
    """One store entry as `merbench features ls` shows it."""

    key: str
    corpus: str
    encoder: str
    count: int
    dim: int
    size_bytes: int
    created: str
    path: Path


def encoder_label(key: dict[str, Any]) -> str:
    """Short display name of an encoder key: ``hf:<model>`` or the registry name."""
    name = key.get("name", "?")
    model = key.get("config", {}).get("model")
    return f"hf:{model}" if name == "hf" and model else name

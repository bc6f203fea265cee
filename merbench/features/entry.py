"""A stored feature entry as it is read: its key, its memory-mapped shards (`FeatureSet`, checksums
verified on first open), and the summary `merbench features ls` shows (`EntryInfo`)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from merbench.keys import sha256_key

FORMAT_VERSION = 1
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


_VERIFIED: dict[tuple[str, int, int], str] = {}


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
        try:
            self.meta: dict[str, Any] = json.loads((path / "meta.json").read_text("utf-8"))
            index = json.loads((path / "index.json").read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise CorruptEntry(f"unreadable meta/index ({exc})") from None
        self._index: dict[str, tuple[int, int, int]] = {k: tuple(v) for k, v in index.items()}
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

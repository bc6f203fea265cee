"""Writing an entry's shards: ``[T, d]`` arrays appended to shards of bounded size, each hashed
while it is written."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from merbench.features.entry import FP16_MAX


class ShardWriter:
    """Appends ``[T, d]`` arrays to shards of at most `shard_bytes`, writing each when it fills."""

    def __init__(self, folder: Path, dim: int, dtype: str, shard_bytes: int) -> None:
        self.folder, self.dim, self.dtype = folder, dim, np.dtype(dtype)
        self.shard_bytes = max(shard_bytes, 1)
        self.index: dict[str, list[int]] = {}
        self.shards: list[dict[str, Any]] = []
        self._buffer: list[np.ndarray] = []
        self._rows = 0
        self.peak_buffer_bytes = 0
        self.clipped = 0

    def add(self, utt_id: str, features: np.ndarray) -> None:
        if self.dtype == np.float16:
            over = np.abs(features) > FP16_MAX
            if over.any():
                self.clipped += int(over.sum())
                features = np.clip(features, -FP16_MAX, FP16_MAX)
        array = np.ascontiguousarray(features, dtype=self.dtype)
        self.index[utt_id] = [len(self.shards), self._rows, int(array.shape[0])]
        self._buffer.append(array)
        self._rows += array.shape[0]
        buffered = self._rows * self.dim * self.dtype.itemsize
        self.peak_buffer_bytes = max(self.peak_buffer_bytes, buffered)
        if buffered >= self.shard_bytes:
            self.flush()

    def flush(self) -> None:
        """Write the buffered rows as one ``.npy`` shard (header, then chunks, hashed on the way)."""
        if not self._buffer:
            return
        name = f"shard-{len(self.shards):05d}.npy"
        header = {
            "descr": np.lib.format.dtype_to_descr(self.dtype),
            "fortran_order": False,
            "shape": (self._rows, self.dim),
        }
        h = hashlib.sha256()
        with open(self.folder / name, "wb") as f:
            hashing = _HashingWriter(f, h)
            np.lib.format.write_array_header_1_0(hashing, header)
            for chunk in self._buffer:
                hashing.write(chunk.tobytes())
            f.flush()
            os.fsync(f.fileno())
            size = f.tell()
        self.shards.append(
            {"file": name, "rows": self._rows, "bytes": size, "sha256": h.hexdigest()}
        )
        self._buffer, self._rows = [], 0


def write_synced(path: Path, data: bytes) -> None:
    """Write `data` to `path` and flush it to the disk."""
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


class _HashingWriter:
    def __init__(self, f: Any, h: Any) -> None:
        self.f, self.h = f, h

    def write(self, data: bytes) -> int:
        self.h.update(data)
        return self.f.write(data)

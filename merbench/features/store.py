"""The feature store: encode a corpus once per encoder and serve the features to every run.

An entry is keyed by SHA-256 of the canonical JSON of ``{"corpus": Corpus.fingerprint(), "encoder":
Encoder.key()}`` and lives in ``<root>/<key>/``:

- ``shard-00000.npy`` ...: float16 ``[rows, d]`` arrays, the frames of many utterances one after
  the other, each written when it fills (``shard_mb``), so memory never holds the whole corpus;
- ``index.json``: ``{utterance id: [shard, offset, length]}`` in corpus order;
- ``meta.json``: corpus name and fingerprint, encoder key, dim, dtype, count, shards with their
  SHA-256, creation date.

An entry is written under ``<root>/.tmp-<key>-*`` and renamed into place when complete, under a file
lock ``<root>/<key>.lock``: an interrupted extraction leaves no entry, two processes never both
extract. Shards are memory-mapped on open after their checksums are verified; a corrupted entry is
reported, removed and extracted again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from merbench.data.base import Corpus, Utterance
from merbench.device import resolve_device
from merbench.encoders.base import Encoder
from merbench.errors import UserError
from merbench.features.batching import plan_batches, split_to_budget
from merbench.keys import canonical_json, sha256_key
from merbench.paths import cache_dir

log = logging.getLogger("merbench.features")

Progress = Callable[[int, int], None]
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


class _ShardWriter:
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
        header = {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False}
        header["shape"] = (self._rows, self.dim)
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


class _HashingWriter:
    def __init__(self, f: Any, h: Any) -> None:
        self.f, self.h = f, h

    def write(self, data: bytes) -> int:
        self.h.update(data)
        return self.f.write(data)


class FeatureStore:
    """Content-addressed cache of encoder outputs, one entry per (corpus fingerprint, encoder key).

    root: the store folder (default ``cache_dir()/"features"``, i.e. ``$MERBENCH_CACHE/features``).
    memory_mb: budget of an extraction: padded batches (as the encoder estimates them) plus the
        shard buffer stay within it, whatever the corpus size.
    shard_mb: largest shard (a quarter of the budget at most).
    max_batch: most utterances in one batch; default 16 on CPU (larger padded batches were
        measured slower there: MiniLM 2.0x faster than one at a time with 16, 1.4x with 64), 64 on
        a GPU.
    dtype: stored precision, float16 (default) or float32 (a different key).
    verify: check each shard's SHA-256 on first open in a process.
    """

    def __init__(
        self,
        root: Path | None = None,
        *,
        memory_mb: float = 2048,
        shard_mb: float = 256,
        max_batch: int | None = None,
        dtype: str = "float16",
        verify: bool = True,
    ) -> None:
        if dtype not in ("float16", "float32"):
            raise UserError(f"feature store dtype {dtype!r}: use float16 or float32")
        if memory_mb <= 0:
            raise UserError(f"feature store memory budget must be positive, got {memory_mb} MB")
        self.root = Path(root) if root is not None else cache_dir() / "features"
        self.memory_bytes = int(memory_mb * 2**20)
        self.shard_bytes = int(min(shard_mb * 2**20, self.memory_bytes / 4))
        self.batch_budget = self.memory_bytes - self.shard_bytes
        self.max_batch = max_batch
        self.dtype = dtype
        self.verify = verify
        #: what this store object did: entries extracted, batches encoded, peak planned batch bytes,
        #: peak shard-buffer bytes (tests and benchmarks read them).
        self.stats = {"extracted": 0, "batches": 0, "peak_batch_bytes": 0, "peak_buffer_bytes": 0}

    # -- keys and paths -------------------------------------------------------------------------
    def key(self, corpus: Corpus, encoder: Encoder) -> str:
        return entry_key(corpus.fingerprint(), encoder.key(), self.dtype)

    def path(self, key: str) -> Path:
        return self.root / key

    # -- the one verb -----------------------------------------------------------------------------
    def get(
        self,
        corpus: Corpus,
        encoder: Encoder,
        *,
        device: str = "cpu",
        progress: Progress | None = None,
    ) -> FeatureSet:
        """The features of `corpus` by `encoder`: the cached entry, or extracted first (then cached).

        `progress(n_done, n_total)` is called after each batch of an extraction.
        """
        fingerprint = corpus.fingerprint()
        key = entry_key(fingerprint, encoder.key(), self.dtype)
        cached = self._open(key)
        if cached is not None:
            return cached
        from filelock import FileLock, Timeout

        self.root.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.root / f"{key}.lock"))
        try:
            lock.acquire(timeout=0.5)
        except Timeout:
            log.info("waiting for another process extracting %s (%s)", key[:12], encoder.name)
            lock.acquire()
        try:
            cached = self._open(key)  # another process may have finished it while we waited
            if cached is not None:
                return cached
            self._extract(key, fingerprint, corpus, encoder, device=device, progress=progress)
            opened = self._open(key)
            if opened is None:  # pragma: no cover - we just wrote it
                raise RuntimeError(f"feature entry {key} vanished after extraction")
            return opened
        finally:
            lock.release()

    def _open(self, key: str) -> FeatureSet | None:
        """The entry `key` if present and intact; a corrupted one is reported and removed."""
        folder = self.path(key)
        if not (folder / "meta.json").is_file():
            return None
        try:
            return FeatureSet(folder, verify=self.verify)
        except CorruptEntry as exc:
            log.warning(
                "feature entry %s is corrupted (%s): removing it and extracting again",
                key[:12],
                exc,
            )
            self._discard(folder)
            return None

    def _discard(self, folder: Path) -> None:
        """Remove an entry folder atomically (rename, then delete)."""
        trash = self.root / f".trash-{folder.name}-{uuid.uuid4().hex[:8]}"
        try:
            folder.rename(trash)
        except FileNotFoundError:
            return
        shutil.rmtree(trash, ignore_errors=True)

    # -- extraction -------------------------------------------------------------------------------
    def _extract(
        self,
        key: str,
        fingerprint: str,
        corpus: Corpus,
        encoder: Encoder,
        *,
        device: str,
        progress: Progress | None,
    ) -> None:
        # Left by a crashed extraction or removal of this key (we hold its lock): not entries.
        for stale in [*self.root.glob(f".tmp-{key}-*"), *self.root.glob(f".trash-{key}-*")]:
            shutil.rmtree(stale, ignore_errors=True)
        if self.path(key).exists():  # a folder without meta.json is no entry: clear the name
            self._discard(self.path(key))
        tmp = self.root / f".tmp-{key}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir(parents=True)
        try:
            with bounded_heap():
                self._write_entry(
                    tmp, key, fingerprint, corpus, encoder, device=device, progress=progress
                )
            os.replace(tmp, self.path(key))
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        self.stats["extracted"] += 1

    def _write_entry(
        self,
        folder: Path,
        key: str,
        fingerprint: str,
        corpus: Corpus,
        encoder: Encoder,
        *,
        device: str,
        progress: Progress | None,
    ) -> None:
        started = time.time()
        encoder.to(resolve_device(device))
        utts, missing = usable_utterances(corpus, encoder)
        lengths = [estimate_length(corpus, u, encoder) for u in utts]
        max_batch = self.max_batch or (64 if str(encoder.device).startswith("cuda") else 16)
        batches = plan_batches(lengths, encoder.batch_bytes, self.batch_budget, max_batch)
        writer = _ShardWriter(folder, encoder.dim, self.dtype, self.shard_bytes)
        done, total = 0, len(utts)
        unreadable: dict[str, str] = {}
        over_budget = False
        if progress is not None:
            progress(0, total)
        for batch in batches:
            members, inputs = read_inputs(corpus, [utts[i] for i in batch], encoder, unreadable)
            if not members:
                done += len(batch)
                continue
            real = [encoder.input_length(x) for x in inputs]
            for part in split_to_budget(
                list(range(len(inputs))), real, encoder.batch_bytes, self.batch_budget
            ):
                planned = encoder.batch_bytes([real[i] for i in part])
                if planned > self.batch_budget and not over_budget:
                    over_budget = True
                    log.warning(
                        "%s: utterance %s alone needs about %.0f MB, over the %.0f MB budget",
                        encoder.name,
                        members[part[0]].id,
                        planned / 2**20,
                        self.batch_budget / 2**20,
                    )
                self.stats["peak_batch_bytes"] = max(self.stats["peak_batch_bytes"], planned)
                outputs = encoder.encode([inputs[i] for i in part])
                self.stats["batches"] += 1
                for i, feats in zip(part, outputs, strict=True):
                    writer.add(members[i].id, check_output(feats, encoder, members[i].id))
            del inputs, outputs
            release_free_memory()
            done += len(batch)
            if progress is not None:
                progress(done, total)
        writer.flush()
        self.stats["peak_buffer_bytes"] = max(
            self.stats["peak_buffer_bytes"], writer.peak_buffer_bytes
        )
        if writer.clipped:
            log.warning(
                "%s: %d values beyond the float16 range were clipped; use dtype float32 to keep them",
                encoder.name,
                writer.clipped,
            )
        order = {u.id: n for n, u in enumerate(corpus.utterances)}
        index = dict(sorted(writer.index.items(), key=lambda kv: order[kv[0]]))
        (folder / "index.json").write_text(canonical_json(index), "utf-8")
        meta = {
            "format": FORMAT_VERSION,
            "key": key,
            "corpus": corpus.name,
            "corpus_fingerprint": fingerprint,
            "encoder": encoder.key(),
            "modality": encoder.modality,
            "frame_rate": encoder.frame_rate,
            "dim": encoder.dim,
            "dtype": self.dtype,
            "count": len(index),
            "missing": missing,
            "unreadable": unreadable,
            "shards": writer.shards,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "seconds": round(time.time() - started, 3),
        }
        (folder / "meta.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False), "utf-8")

    # -- listing and removal ----------------------------------------------------------------------
    def entries(self) -> list[EntryInfo]:
        """Every complete entry (newest first)."""
        out = []
        if not self.root.is_dir():
            return out
        for folder in self.root.iterdir():
            if folder.name.startswith(".") or not (folder / "meta.json").is_file():
                continue
            try:
                meta = json.loads((folder / "meta.json").read_text("utf-8"))
            except (OSError, ValueError):
                continue
            size = sum(f.stat().st_size for f in folder.iterdir() if f.is_file())
            out.append(
                EntryInfo(
                    key=folder.name,
                    corpus=meta.get("corpus", "?"),
                    encoder=encoder_label(meta.get("encoder", {})),
                    count=int(meta.get("count", 0)),
                    dim=int(meta.get("dim", 0)),
                    size_bytes=size,
                    created=meta.get("created", ""),
                    path=folder,
                )
            )
        return sorted(out, key=lambda e: e.created, reverse=True)

    def remove(self, prefix: str | None = None, *, all: bool = False) -> list[str]:
        """Remove the entry whose key starts with `prefix` (or every entry with `all`); its keys.

        A prefix matching no entry, or several, raises `UserError`.
        """
        entries = self.entries()
        if all:
            chosen = entries
        else:
            if not prefix:
                raise UserError("features rm: give a key prefix or --all")
            chosen = [e for e in entries if e.key.startswith(prefix)]
            if not chosen:
                raise UserError(f"features rm: no entry with key prefix {prefix!r} in {self.root}")
            if len(chosen) > 1:
                keys = ", ".join(e.key[:12] for e in chosen)
                raise UserError(
                    f"features rm: prefix {prefix!r} matches {len(chosen)} entries ({keys})"
                )
        for entry in chosen:
            self._discard(entry.path)
            (self.root / f"{entry.key}.lock").unlink(missing_ok=True)
        return [e.key for e in chosen]


# -- helpers --------------------------------------------------------------------------------------
def encoder_label(key: dict[str, Any]) -> str:
    """Short display name of an encoder key: ``hf:<model>`` or the registry name."""
    name = key.get("name", "?")
    model = key.get("config", {}).get("model")
    return f"hf:{model}" if name == "hf" and model else name


_LIBC: Any = None
M_MMAP_THRESHOLD = -3  # glibc mallopt parameter
EXTRACTION_MMAP_THRESHOLD = 4 << 20  # blocks above it are unmapped when freed
STEADY_MMAP_THRESHOLD = 32 << 20  # where glibc's dynamic threshold ends up (its maximum)


def _libc() -> Any:
    global _LIBC
    if _LIBC is None:
        try:
            import ctypes

            _LIBC = ctypes.CDLL("libc.so.6")
            _LIBC.malloc_trim.argtypes = [ctypes.c_size_t]
            _LIBC.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        except (OSError, AttributeError):
            _LIBC = False
    return _LIBC


@contextlib.contextmanager
def bounded_heap() -> Iterator[None]:
    """Keep the resident size of an extraction near its planned batches (glibc only).

    glibc raises its mmap threshold each time a large block is freed, so later activation buffers
    come from the heap, fragment it and stay resident. Measured with a 256 MB budget (80 waveforms,
    small wav2vec2, batches planned at most 200 MB): peak RSS +329 MB with glibc's default, +126 MB
    with a fixed 4 MiB threshold, at the price of more page faults (system time 3 s -> 11 s, user
    26 s -> 23 s, on a loaded machine). Afterwards the threshold is set to 32 MiB, where the
    dynamic one ends up. ``MALLOC_MMAP_THRESHOLD_`` in the environment takes precedence.
    """
    libc = _libc()
    active = bool(libc) and "MALLOC_MMAP_THRESHOLD_" not in os.environ
    if active:
        libc.mallopt(M_MMAP_THRESHOLD, EXTRACTION_MMAP_THRESHOLD)
    try:
        yield
    finally:
        if active:
            libc.mallopt(M_MMAP_THRESHOLD, STEADY_MMAP_THRESHOLD)
            libc.malloc_trim(0)


def release_free_memory() -> None:
    """Return freed heap memory to the system after a batch (glibc ``malloc_trim``)."""
    libc = _libc()
    if libc:
        libc.malloc_trim(0)


def usable_utterances(corpus: Corpus, encoder: Encoder) -> tuple[list[Utterance], list[str]]:
    """Utterances the encoder can read (audio ones need a file) and the ids of the others."""
    if encoder.modality == "text":
        return list(corpus.utterances), []
    usable = [u for u in corpus.utterances if u.audio is not None]
    missing = [u.id for u in corpus.utterances if u.audio is None]
    if missing:
        log.warning(
            "%s: %d utterances have no audio and get no %s features (e.g. %s)",
            corpus.name,
            len(missing),
            encoder.name,
            missing[0],
        )
    return usable, missing


def estimate_length(corpus: Corpus, utt: Utterance, encoder: Encoder) -> int:
    """Length used to sort and bucket: tokens of the text, or samples from the audio header."""
    if encoder.modality == "text":
        return encoder.input_length(utt.text)
    rate = encoder.sample_rate or 16000
    path = Path(utt.audio) if utt.audio is not None else None
    if path is None:
        return 0
    try:
        import soundfile as sf

        info = sf.info(str(path))
        return int(info.frames * rate / info.samplerate)
    except Exception:
        pass
    try:
        import av

        with av.open(str(path)) as container:
            if container.duration:
                return int(container.duration / 1_000_000 * rate)
    except Exception:
        pass
    try:
        return path.stat().st_size // 4  # unknown format: order by size (re-checked on load)
    except OSError:
        return 0


def read_inputs(
    corpus: Corpus, members: list[Utterance], encoder: Encoder, unreadable: dict[str, str]
) -> tuple[list[Utterance], list[Any]]:
    """The members whose input could be read, and their inputs; a medium that cannot be decoded
    is recorded in `unreadable` (id -> message, kept in the entry's meta) and left out, never
    fatal for the whole entry; the caller reports them."""
    kept, inputs = [], []
    for utt in members:
        try:
            inputs.append(load_input(corpus, utt, encoder))
        except UserError as exc:
            if encoder.modality == "text":
                raise
            unreadable[utt.id] = str(exc)
        else:
            kept.append(utt)
    return kept, inputs


def load_input(corpus: Corpus, utt: Utterance, encoder: Encoder) -> Any:
    """What the encoder reads for `utt`: its text, or its waveform at the encoder's sample rate."""
    if encoder.modality == "text":
        return utt.text
    return corpus.load_audio(utt, encoder.sample_rate or 16000)


def check_output(features: np.ndarray, encoder: Encoder, utt_id: str) -> np.ndarray:
    """Validate one encoder output: ``[T >= 1, dim]`` and finite."""
    if features.ndim != 2 or features.shape[1] != encoder.dim or features.shape[0] < 1:
        raise RuntimeError(
            f"encoder {encoder.name} returned shape {features.shape} for {utt_id}, "
            f"expected [T>=1, {encoder.dim}]"
        )
    if not np.isfinite(features).all():
        features = np.nan_to_num(features, nan=0.0, posinf=FP16_MAX, neginf=-FP16_MAX)
    return features

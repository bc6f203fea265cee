"""The feature store: encode a corpus once per encoder and serve the features to every run.

An entry is keyed by SHA-256 of the canonical JSON of ``{"corpus": Corpus.fingerprint(), "encoder":
Encoder.key()}`` and lives in ``<root>/<key>/``:

- ``shard-00000.npy`` ...: float16 ``[rows, d]`` arrays, the frames of many utterances one after
  the other, each written when it fills (``shard_mb``), so memory never holds the whole corpus;
- ``index.json``: ``{utterance id: [shard, offset, length]}`` in corpus order;
- ``meta.json``: corpus name and fingerprint, encoder key, dim, dtype, count, shards and index with
  their SHA-256, creation date, and its own checksum (`merbench.features.entry`).

An entry is written under ``<root>/.tmp-<key>-*`` and renamed into place when complete, under a file
lock ``<root>/<key>.lock``: an interrupted extraction leaves no entry, two processes never both
extract. Shards are memory-mapped on open after their checksums are verified; a corrupted entry (a
file failing its checksum, an index disagreeing with the metadata) is reported, removed and
extracted again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from merbench.data.base import Corpus
from merbench.device import resolve_device
from merbench.encoders.base import Encoder
from merbench.errors import UserError
from merbench.features.batching import plan_batches, split_to_budget
from merbench.features.entry import (
    FORMAT_VERSION,
    CorruptEntry,
    EntryInfo,
    FeatureSet,
    encoder_label,
    entry_key,
    meta_checksum,
)
from merbench.features.inputs import check_output, estimate_length, read_inputs, usable_utterances
from merbench.features.memory import bounded_heap, release_free_memory
from merbench.features.writer import ShardWriter, write_synced
from merbench.files import disk_write
from merbench.keys import canonical_json
from merbench.paths import feature_store_dir

log = logging.getLogger("merbench.features")

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Extraction:
    """One extraction: the entry `key` of `corpus` (its `fingerprint`) by `encoder` on `device`,
    reporting `progress(n_done, n_total)` after each batch."""

    key: str
    fingerprint: str
    corpus: Corpus
    encoder: Encoder
    device: str
    progress: Progress | None


class FeatureStore:
    """Content-addressed cache of encoder outputs, one entry per (corpus fingerprint, encoder key).

    root: the store folder (default `feature_store_dir()`, i.e. ``$MERBENCH_CACHE/features``).
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
        self.root = Path(root) if root is not None else feature_store_dir()
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
            self._extract(Extraction(key, fingerprint, corpus, encoder, device, progress))
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
    def _extract(self, job: Extraction) -> None:
        """Write the entry of `job` under a temporary name, then rename it into place."""
        key = job.key
        # Left by a crashed extraction or removal of this key (we hold its lock): not entries.
        for stale in [*self.root.glob(f".tmp-{key}-*"), *self.root.glob(f".trash-{key}-*")]:
            shutil.rmtree(stale, ignore_errors=True)
        if self.path(key).exists():  # a folder without meta.json is no entry: clear the name
            self._discard(self.path(key))
        tmp = self.root / f".tmp-{key}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        what = f"the features of {job.corpus.name} by {job.encoder.name} (nothing of them kept)"
        with disk_write(self.root, what):
            tmp.mkdir(parents=True)
            try:
                with bounded_heap():
                    self._write_entry(tmp, job)
                os.replace(tmp, self.path(key))
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
        self.stats["extracted"] += 1

    def _write_entry(self, folder: Path, job: Extraction) -> None:
        """Encode `job`'s corpus into shards (from its parts' entries for an encoder with
        `parts`), then write the index and meta."""
        started = time.time()
        if job.encoder.parts:
            writer, missing, unreadable = self._combine_parts(folder, job)
        else:
            writer, missing, unreadable = self._encode_corpus(folder, job)
        self._write_meta(folder, job, writer, missing, unreadable, started)

    def _combine_parts(
        self, folder: Path, job: Extraction
    ) -> tuple[ShardWriter, list[str], dict[str, str]]:
        """Shards of an encoder with `parts`: each part's entry (cached, or extracted and cached
        first), then ``encoder.combine`` per utterance that every part has. An utterance a part
        lacks is missing (or unreadable, with the part's reason) here too."""
        corpus, encoder, progress = job.corpus, job.encoder, job.progress
        sets = [self.get(corpus, part, device=job.device) for part in encoder.parts]
        unreadable: dict[str, str] = {}
        for features in sets:
            unreadable.update(features.meta.get("unreadable", {}))
        have = [set(features.ids) for features in sets]
        ids = [u.id for u in corpus.utterances]
        usable = [i for i in ids if all(i in h for h in have)]
        missing = [i for i in ids if i not in unreadable and not all(i in h for h in have)]
        writer = ShardWriter(folder, encoder.dim, self.dtype, self.shard_bytes)
        for n, utt in enumerate(usable, 1):
            row = encoder.combine([np.asarray(features[utt]) for features in sets])
            writer.add(utt, check_output(row, encoder, utt))
            if progress is not None and (n % 256 == 0 or n == len(usable)):
                progress(n, len(usable))
        return writer, missing, unreadable

    def _encode_corpus(
        self, folder: Path, job: Extraction
    ) -> tuple[ShardWriter, list[str], dict[str, str]]:
        """Shards of `job`'s corpus encoded batch by batch; also the ids without audio and the
        unreadable ones (with the reason)."""
        corpus, encoder, progress = job.corpus, job.encoder, job.progress
        encoder.to(resolve_device(job.device))
        utts, missing = usable_utterances(corpus, encoder)
        lengths = [estimate_length(corpus, u, encoder) for u in utts]
        max_batch = self.max_batch or (64 if str(encoder.device).startswith("cuda") else 16)
        batches = plan_batches(lengths, encoder.batch_bytes, self.batch_budget, max_batch)
        writer = ShardWriter(folder, encoder.dim, self.dtype, self.shard_bytes)
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
        return writer, missing, unreadable

    def _write_meta(
        self,
        folder: Path,
        job: Extraction,
        writer: ShardWriter,
        missing: list[str],
        unreadable: dict[str, str],
        started: float,
    ) -> None:
        """Flush the last shard, then write ``index.json`` and ``meta.json`` of the entry."""
        corpus, encoder = job.corpus, job.encoder
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
        index_bytes = canonical_json(index).encode("utf-8")
        write_synced(folder / "index.json", index_bytes)
        meta = {
            "format": FORMAT_VERSION,
            "key": job.key,
            "corpus": corpus.name,
            "corpus_fingerprint": job.fingerprint,
            "encoder": encoder.key(),
            "modality": encoder.modality,
            "frame_rate": encoder.frame_rate,
            "dim": encoder.dim,
            "dtype": self.dtype,
            "count": len(index),
            "missing": missing,
            "unreadable": unreadable,
            "shards": writer.shards,
            "index": {
                "file": "index.json",
                "bytes": len(index_bytes),
                "sha256": hashlib.sha256(index_bytes).hexdigest(),
            },
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "seconds": round(time.time() - started, 3),
        }
        meta["checksum"] = meta_checksum(meta)
        write_synced(folder / "meta.json", json.dumps(meta, indent=1, ensure_ascii=False).encode())

    # -- listing and removal ----------------------------------------------------------------------
    def entries(self) -> list[EntryInfo]:
        """Every complete entry (newest first)."""
        out: list[EntryInfo] = []
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

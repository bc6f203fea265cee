"""Run-key claims: at most one live process trains a given run key at a time.

Before training, a worker claims the run key: a small JSON file ``<claims folder>/<run key>.json``
(holder's host, pid, token and heartbeat time) written under a short file lock, so two sweeps with
the same keys never both train one. The holder refreshes the heartbeat every `HEARTBEAT` seconds
from a daemon thread and removes the file when done. A claim is *live* while its heartbeat is
younger than `STALE` seconds and, on the same host, its process exists; a claim whose process is
gone (killed, crashed, machine rebooted) is taken over at once on the same host, after `STALE`
seconds elsewhere.

Claims belong to one store: the claims folder is ``<store file>.claims/`` beside a SQLite store
(``mlflow.db.claims/``; two stores in one folder never see each other's claims), else ``<cache
root>/claims/<hash of URI>`` (for a tracking server; the cache root must then be shared, as for
the feature store). A claim records when it was taken (``since``), for the dry run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from merbench.files import disk_write
from merbench.paths import cache_dir

HEARTBEAT = 10.0
STALE = 60.0


def claims_folder(uri: str) -> Path:
    """Where the claims of the runs tracked at `uri` live."""
    if uri.startswith("sqlite:///"):
        store = Path(uri.removeprefix("sqlite:///")).resolve()
        return store.with_name(f"{store.name}.claims")
    return cache_dir() / "claims" / hashlib.sha256(uri.encode()).hexdigest()[:16]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (killed, not yet reaped by its parent) holds nothing
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def is_live(holder: dict[str, Any] | None) -> bool:
    """Whether the claim `holder` (a claim file's content) is held by a live process."""
    if not holder:
        return False
    if time.time() - float(holder.get("heartbeat", 0)) > STALE:
        return False
    if holder.get("host") == socket.gethostname():
        return _pid_alive(int(holder.get("pid", -1)))
    return True


def _read(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None


def holder(uri: str, run_key: str) -> dict[str, Any] | None:
    """The live holder of `run_key`'s claim, or None."""
    found = _read(claims_folder(uri) / f"{run_key}.json")
    return found if is_live(found) else None


class Claim:
    """The claim of one run key (see the module docstring)."""

    def __init__(self, uri: str, run_key: str) -> None:
        self.folder = claims_folder(uri)
        self.path = self.folder / f"{run_key}.json"
        self.token = uuid.uuid4().hex
        self.since = time.time()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _lock(self) -> Any:
        from filelock import FileLock

        return FileLock(str(self.path.with_suffix(".lock")), timeout=60)

    def _write(self) -> None:
        record = {"host": socket.gethostname(), "pid": os.getpid(), "token": self.token,
                  "heartbeat": time.time(), "since": self.since}  # fmt: skip
        tmp = self.path.with_name(f".{self.path.name}.{self.token}")
        try:
            with disk_write(self.folder, "a run's claim"):
                tmp.write_text(json.dumps(record), "utf-8")
            os.replace(tmp, self.path)
        finally:
            tmp.unlink(missing_ok=True)

    def acquire(self) -> dict[str, Any] | None:
        """Take the claim; returns None on success, else the live holder's record."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with self._lock():
            current = _read(self.path)
            if is_live(current):
                return current
            self.since = time.time()
            self._write()
        self._thread = threading.Thread(target=self._beat, daemon=True)
        self._thread.start()
        return None

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT):
            with self._lock():
                current = _read(self.path)
                if not current or current.get("token") != self.token:
                    return  # taken over (we were presumed dead): stop refreshing
                with contextlib.suppress(OSError):  # e.g. a full disk: the beat is retried
                    self._write()

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock():
            current = _read(self.path)
            if current and current.get("token") == self.token:
                self.path.unlink(missing_ok=True)


@contextlib.contextmanager
def claimed(uri: str, run_key: str) -> Iterator[dict[str, Any] | None]:
    """``with claimed(uri, key) as other:`` other is None when this process holds the claim for
    the block, else the live holder's record (and nothing is held)."""
    claim = Claim(uri, run_key)
    other = claim.acquire()
    try:
        yield other
    finally:
        if other is None:
            claim.release()


def describe_holder(record: dict[str, Any]) -> str:
    """``host H, pid P, since 2026-01-31 12:00:00 UTC`` for a claim's `record`."""
    taken = record.get("since", record.get("heartbeat", 0))
    since = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(float(taken)))
    return f"host {record.get('host', '?')}, pid {record.get('pid', '?')}, since {since}"

"""Writing files so that a full disk is one clear error and nothing half-written looks finished.

`disk_write(path, what)` turns a full disk (or quota) met anywhere inside its block, whether as
an ``OSError`` (``ENOSPC``, ``EDQUOT``, ``EFBIG``) or as SQLite's "database or disk is full"
wrapped by MLflow and SQLAlchemy, into `DiskFull`: a `UserError` naming `path` and `what` was
being written. `write_atomic` writes a file under a temporary name beside it and renames it into
place, so a reader never meets half of it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from merbench.errors import UserError

FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
FULL_MESSAGES = ("database or disk is full", "No space left on device", "Disk quota exceeded")


class DiskFull(UserError):
    """The disk filled while `what` was being written to `path`."""

    def __init__(self, path: Path | str, what: str) -> None:
        self.path, self.what = Path(path), what
        super().__init__(
            f"{path}: no space left on the device while writing {what}; free some space and run "
            "the command again"
        )


def _chain(exc: BaseException | None) -> Iterator[BaseException]:
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def is_disk_full(exc: BaseException) -> bool:
    """Whether `exc`, or an exception it was raised from or while handling, says the disk is
    full."""
    for link in _chain(exc):
        if isinstance(link, OSError) and link.errno in FULL_ERRNOS:
            return True
        if any(message in str(link) for message in FULL_MESSAGES):
            return True
    return False


def failed_file(exc: BaseException) -> Path | None:
    """The file named by the first ``OSError`` of `exc`'s chain that has one."""
    for link in _chain(exc):
        if isinstance(link, OSError) and link.filename:
            return Path(os.fsdecode(link.filename))
    return None


@contextlib.contextmanager
def disk_write(path: Path | str, what: str) -> Iterator[None]:
    """A full disk inside the block is `DiskFull(path, what)`; other errors pass unchanged."""
    try:
        yield
    except DiskFull:
        raise
    except Exception as exc:
        if is_disk_full(exc):
            raise DiskFull(path, what) from None
        raise


def write_atomic(path: Path, data: str | bytes, what: str) -> None:
    """Write `data` to `path` whole or not at all (a temporary file beside it, flushed, renamed
    into place). A full disk is `DiskFull` (the temporary file removed); other ``OSError``s pass.
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with disk_write(path, what), os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a plain file as write_text would
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

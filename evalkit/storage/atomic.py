"""Atomic file publishing: write beside the target, flush and fsync, then rename over it.

A reader sees the old file or the new one, never a part. Files and directories are created with mode 0666/0777
filtered by the user's umask (tempfile's private 0600 files are not used). A failed write (disk full, file size
limit) removes the temporary file, leaves the target as it was and raises one EvalkitError line.
"""
from __future__ import annotations

import contextlib
import errno
import os
import secrets
from pathlib import Path
from typing import IO, Iterator

from evalkit.errors import EvalkitError
from evalkit.storage.faults import fault_point


FULL = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)
_FULL_TEXT = ("No space left", "File too large", "Disk quota")


def is_write_failure(exc: BaseException) -> bool:
    """Disk full, file size limit, read-only or forbidden: the OSErrors a write can end in (Arrow's included,
    which carry the reason only in their text)."""
    return isinstance(exc, OSError) and (
        exc.errno in (*FULL, errno.EROFS, errno.EACCES) or any(t in str(exc) for t in _FULL_TEXT))


def write_error(path: Path, exc: OSError) -> EvalkitError:
    """One line for an OSError while writing `path`; says that the previous file (if any) is untouched."""
    text = str(exc).strip()
    reason = exc.strerror or (text.splitlines()[0] if text else exc.__class__.__name__)
    if exc.errno in FULL or any(t in str(exc) for t in _FULL_TEXT):
        reason = f"{reason} (disk full or file size limit)"
    return EvalkitError(f"{path}: could not write: {reason}; nothing was replaced")


def temp_name(path: Path, tag: str = "tmp") -> Path:
    return path.with_name(f".{path.name}.{tag}-{os.getpid()}-{secrets.token_hex(4)}")


def fsync_path(path: Path) -> None:
    """fsync a file or a directory (a rename is durable once its directory is synced)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_file(path: str | Path, mode: str = "wb", encoding: str | None = None) -> Iterator[IO]:
    """Open a temporary sibling of `path` for writing; on a clean exit it replaces `path` atomically."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = temp_name(path)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as exc:
        raise write_error(path, exc) from None
    try:
        with os.fdopen(fd, mode, encoding=encoding) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        fault_point(f"atomic:{path.parent.name}/{path.name}")
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if is_write_failure(exc):
            raise write_error(path, exc) from None
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_file(path, "wb") as fh:
        fh.write(data)


def atomic_write_text(path: str | Path, text: str, encoding: str = "utf-8") -> None:
    atomic_write_bytes(path, text.encode(encoding))

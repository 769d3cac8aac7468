"""Cached artefacts: a directory built once under a lock, published atomically, verified on every load.

`cached_artefact(path, kind, version, build)` returns the artefact at `path`, building it when it is absent,
partial, corrupt or from another builder version. The build runs under a per-artefact file lock (released by the
OS when the holder dies, SIGKILL included), so N processes build it once and the others wait and reuse it. It
writes into a temporary sibling directory; MANIFEST.json (kind, builder version, counts, size and sha256 of every
file, content hash) is written last, everything is fsynced, and the directory is renamed into place. A damaged
artefact is reported in one warning line and rebuilt, never used. `EVALKIT_VERIFY=size` checks sizes and counts
only (skipping the hashes of very large caches); the default `full` also rehashes every file.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, TypeVar

from filelock import FileLock

from evalkit.errors import EvalkitError
from evalkit.storage.atomic import fsync_path, is_write_failure, temp_name, write_error
from evalkit.storage.faults import fault_point

log = logging.getLogger(__name__)
MANIFEST = "MANIFEST.json"
_verified: dict[Path, tuple] = {}      # path -> (manifest mtime_ns, inode): verified once per process
T = TypeVar("T")


class Damaged(Exception):
    """Raised by an artefact's loader when what it read disagrees with the manifest (e.g. a row count)."""


@dataclass(frozen=True)
class Artefact:
    path: Path
    manifest: dict

    @property
    def counts(self) -> dict:
        return self.manifest["counts"]

    @property
    def meta(self) -> dict:
        return self.manifest["meta"]

    @property
    def content_hash(self) -> str:
        return self.manifest["content_hash"]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _describe(root: Path) -> dict[str, dict]:
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.name != MANIFEST)
    return {p.relative_to(root).as_posix(): {"bytes": p.stat().st_size, "sha256": file_sha256(p)} for p in files}


def _content_hash(files: dict[str, dict]) -> str:
    return hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()


def verify_artefact(path: Path, kind: str, version: int) -> tuple[Artefact | None, str]:
    """(the artefact, "") when `path` holds a complete, intact one of this kind and version, else (None, why)."""
    path = Path(path)
    manifest_file = path / MANIFEST
    if not path.is_dir():
        return None, "absent"
    try:
        stat = manifest_file.stat()
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
        files = manifest["files"]
        if manifest.get("kind") != kind or manifest.get("builder_version") != version:
            return None, (f"built by {manifest.get('kind')} v{manifest.get('builder_version')}, "
                          f"expected {kind} v{version}")
        if _content_hash(files) != manifest["content_hash"]:
            return None, "manifest does not match its own content hash"
    except FileNotFoundError:
        return None, "no MANIFEST.json (partial build)"
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return None, f"unreadable MANIFEST.json ({exc.__class__.__name__})"
    if _verified.get(path) == (stat.st_mtime_ns, stat.st_ino):
        return Artefact(path, manifest), ""
    full = os.environ.get("EVALKIT_VERIFY", "full") != "size"
    for name, want in files.items():
        file = path / name
        try:
            size = file.stat().st_size
        except OSError:
            return None, f"{name} is missing"
        if size != want["bytes"]:
            return None, f"{name} has {size} bytes, manifest says {want['bytes']} (truncated?)"
        if full and file_sha256(file) != want["sha256"]:
            return None, f"{name} does not match its sha256 (corrupt)"
    _verified[path] = (stat.st_mtime_ns, stat.st_ino)
    return Artefact(path, manifest), ""


def _identity(artefact: Artefact) -> Artefact:
    return artefact


def _load(path: Path, kind: str, version: int, load: Callable[[Artefact], T],
          rejected: dict[str, str]) -> tuple[T | None, str]:
    """(loaded value, "") or (None, why); `rejected` maps content hashes the loader refused to its reason."""
    found, why = verify_artefact(path, kind, version)
    if found is None:
        return None, why
    if found.content_hash in rejected:
        return None, rejected[found.content_hash]
    try:
        return load(found), ""
    except Damaged as exc:
        _verified.pop(path, None)
        rejected[found.content_hash] = str(exc)
        return None, str(exc)


def cached_artefact(path: Path, kind: str, version: int, build: Callable[[Path], dict],
                    load: Callable[[Artefact], T] = _identity) -> T:
    """`load(artefact)` of the verified artefact at `path`, built first by
    `build(tmp_dir) -> {"counts": {...}, "meta": {...}}` when absent or damaged (`load` may raise Damaged)."""
    path = Path(path)
    rejected: dict[str, str] = {}
    value, why = _load(path, kind, version, load, rejected)
    if value is not None:
        return value
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path.parent / f".{path.name}.lock")):
        value, why = _load(path, kind, version, load, rejected)   # built by another process while we waited
        if value is not None:
            return value
        if why != "absent":
            log.warning("%s: %s cache is unusable (%s); rebuilding it", path, kind, why)
        for stale in path.parent.glob(f".{path.name}.tmp-*"):    # left by a killed builder (we hold the lock)
            shutil.rmtree(stale, ignore_errors=True)
        artefact = _build(path, kind, version, build)
        try:
            return load(artefact)
        except Damaged as exc:
            raise EvalkitError(f"{path}: freshly built {kind} fails its own check ({exc})") from None


def _build(path: Path, kind: str, version: int, build: Callable[[Path], dict]) -> Artefact:
    tmp = temp_name(path)
    try:
        os.mkdir(tmp, 0o777)
        info = build(tmp) or {}
        fault_point(f"{kind}:built")
        files = _describe(tmp)
        manifest = {"kind": kind, "builder_version": version, "counts": info.get("counts", {}),
                    "meta": info.get("meta", {}), "files": files, "content_hash": _content_hash(files)}
        _write_manifest(tmp / MANIFEST, manifest)
        for name in files:
            fsync_path(tmp / name)
        fsync_path(tmp)
        fault_point(f"{kind}:manifest")
        _replace_dir(tmp, path)
        fsync_path(path.parent)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if is_write_failure(exc):
            raise write_error(path, exc) from None
        raise
    fault_point(f"{kind}:published")
    log.info("built %s %s", kind, path)
    return Artefact(path, manifest)


def _write_manifest(file: Path, manifest: dict) -> None:
    fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
        fh.flush()
        os.fsync(fh.fileno())



def _replace_dir(tmp: Path, path: Path) -> None:
    """Rename `tmp` to `path`; a damaged old `path` is moved aside first and deleted after."""
    old = None
    if path.exists():
        old = temp_name(path, "old")
        os.rename(path, old)
    os.rename(tmp, path)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def publish_dir(path: Path, kind: str, version: int, build: Callable[[Path], dict], replace: bool) -> Artefact:
    """Build a directory artefact that evalkit cannot rebuild by itself (a subset, a baseline) under its lock and
    publish it atomically; an existing one is replaced only when `replace`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path.parent / f".{path.name}.lock")):
        if path.exists() and not replace:
            raise EvalkitError(f"{path} already exists")
        for stale in path.parent.glob(f".{path.name}.tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
        return _build(path, kind, version, build)


def require_artefact(path: Path, kind: str, version: int) -> Artefact | None:
    """Check a published artefact evalkit cannot rebuild (a subset, a baseline): damaged is an error; one
    without MANIFEST.json (written before evalkit had manifests) is used with one warning line."""
    found, why = verify_artefact(path, kind, version)
    if found is None:
        if why == "no MANIFEST.json (partial build)" and path.is_dir():
            log.warning("%s: no MANIFEST.json (written by an older evalkit), not verified", path)
            return None
        raise EvalkitError(f"{path}: {kind} is unusable ({why})")
    return found

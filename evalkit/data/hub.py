"""Resolve a dataset source: a local directory, or a Hugging Face dataset repository read as raw files."""
from __future__ import annotations

from pathlib import Path

from evalkit.errors import EvalkitError


class DatasetUnavailableError(EvalkitError):
    pass


def is_local(source: str) -> bool:
    """A path on this machine (existing, or written as a path) rather than a hub repository id."""
    return Path(source).expanduser().exists() or source.startswith((".", "/", "~"))


def resolve_dataset(source: str, patterns: list[str], revision: str | None = None, what: str = "") -> Path:
    """A local directory as is; otherwise snapshot the hub repo's matching files (HF cache, HF_HUB_OFFLINE honoured)."""
    local = Path(source).expanduser()
    if local.exists():
        if not local.is_dir():
            raise EvalkitError(f"benchmark.source={source} is a file; expected a directory in the repository layout")
        return local
    if source.startswith((".", "/", "~")):
        raise EvalkitError(f"benchmark.source={source}: directory not found")
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    try:
        return Path(snapshot_download(repo_id=source, repo_type="dataset", allow_patterns=patterns, revision=revision))
    except (LocalEntryNotFoundError, HfHubHTTPError, OSError) as exc:
        raise DatasetUnavailableError(
            f"dataset {source} ({what or ', '.join(patterns)}) is not in the Hugging Face cache and cannot be "
            f"downloaded ({exc.__class__.__name__}). {_alternative(source)}") from None


def require_files(root: Path, files: list[str], source: str) -> None:
    """Stop with the missing files named (a partial cache or a local copy lacking a language)."""
    missing = [f for f in files if not (root / f).exists()]
    if missing:
        shown = ", ".join(missing[:4]) + (f" and {len(missing) - 4} more" if len(missing) > 4 else "")
        raise DatasetUnavailableError(f"{source}: missing {shown} under {root}. " + _alternative(source))


def _alternative(source: str) -> str:
    if is_local(source):
        return "Copy the files in the repository layout into that directory (see docs/benchmarks.md)."
    return (f"On a machine with network run `hf download {source} --repo-type dataset --local-dir DIR`, "
            "then pass that DIR as benchmark.source (or benchmark.corpus_source for the corpus).")


def dataset_revision(path: Path) -> str | None:
    """The commit of a hub snapshot directory (…/snapshots/<commit>), None for a plain local directory."""
    parts = Path(path).resolve().parts
    return parts[parts.index("snapshots") + 1] if "snapshots" in parts else None

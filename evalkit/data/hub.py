"""Resolve a dataset source: a local directory, or a Hugging Face dataset repository read as raw files."""
from __future__ import annotations

from pathlib import Path

from evalkit.errors import EvalkitError


class DatasetUnavailableError(EvalkitError):
    pass


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
            f"downloaded ({exc.__class__.__name__}). On a machine with network run "
            f"`huggingface-cli download {source} --repo-type dataset --local-dir DIR`, then pass benchmark.source=DIR"
        ) from None


def dataset_revision(path: Path) -> str | None:
    """The commit of a hub snapshot directory (…/snapshots/<commit>), None for a plain local directory."""
    parts = Path(path).resolve().parts
    return parts[parts.index("snapshots") + 1] if "snapshots" in parts else None

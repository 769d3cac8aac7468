"""The one cache root of evalkit (`EVALKIT_CACHE`, default ~/.cache/evalkit: doc stores, indexes, embeddings,
tokenizer copies, pair scores), and the name a run directory has while it is staged."""
from __future__ import annotations

import os
import re
from pathlib import Path


def cache_root() -> Path:
    value = os.environ.get("EVALKIT_CACHE")
    return Path(value).expanduser() if value else Path.home() / ".cache" / "evalkit"


_STAGED = re.compile(r"^\.(.+)\.partial-\d+$")


def published_path(path: Path) -> Path:
    """The directory a run being built in `path` will be published as (`path` itself when it is not staged):
    what outputs written during the run name, never the staging directory."""
    path = Path(path)
    found = _STAGED.match(path.name)
    return path.parent / found.group(1) if found else path

"""A run's outputs less what is measured rather than computed (metrics.json's `efficiency`, report.md's efficiency
section): the part that must be byte-identical across reruns, executors and shard merges."""
from __future__ import annotations

import json
import re
from pathlib import Path

SECTION = re.compile(r"## Efficiency \(rerank stage\)\n.*?(?=\n## |\Z)", re.S)


def stable_bytes(path: Path) -> bytes:
    if path.name == "metrics.json":
        metrics = json.loads(path.read_text(encoding="utf-8"))
        metrics.pop("efficiency", None)
        return json.dumps(metrics, indent=2, ensure_ascii=False).encode()
    if path.name == "report.md":
        return SECTION.sub("", path.read_text(encoding="utf-8")).encode()
    return path.read_bytes()

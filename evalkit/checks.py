"""The checks a config field carries (`setting(default, check)`): each takes the value and returns None when it
is allowed, else what is allowed; `ConfigValueError` turns that into one line naming the key, e.g.
`reranker.dtype='fp8': choose one of auto, fp32, bf16, fp16`. Config dataclasses declare them field by field
(evalkit/config.py, and each registry entry's own config); evalkit/app/validate.py runs them."""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any, Callable

from evalkit.errors import EvalkitError

Rule = Callable[[Any], "str | None"]     # value -> None when allowed, else what is allowed

LANG_CODE = re.compile(r"[a-z]{2,3}([-_][A-Za-z0-9]+)?")


class ConfigValueError(EvalkitError):
    def __init__(self, key: str, value: Any, allowed: str):
        super().__init__(f"{key} is not set: {allowed}" if value in (None, "???") else f"{key}={value!r}: {allowed}")
        self.key = key


def one_of(*choices: str) -> Rule:
    return lambda v: None if v in choices else "choose one of " + ", ".join(choices)


def at_least(low: float, kind: str = "an integer") -> Rule:
    return lambda v: None if v >= low else f"must be {kind} >= {low}"


def between(low: float, high: float) -> Rule:
    return lambda v: None if low <= v <= high else f"must lie in [{low}, {high}]"


def optional(rule: Rule) -> Rule:
    return lambda v: None if v is None else rule(v)


def each(rule: Rule, non_empty: bool = True) -> Rule:
    def check(values):
        if non_empty and not values:
            return "must not be empty"
        bad = [v for v in values if rule(v) is not None]
        return f"{bad[0]!r} is not allowed: {rule(bad[0])}" if bad else None
    return check


def any_value(_: Any) -> None:
    """Free text (titles, separators, revisions): the structured config has already checked its type."""
    return None


def existing_path(kind: str = "path") -> Rule:
    """A value written as a path must exist (a hub id such as org/name is left to the loader)."""
    def check(v):
        if not _path_like(v) or Path(v).expanduser().exists():
            return None
        return f"no such {kind}; give an existing {kind} or a hub id"
    return check


def writable_dir(v: str) -> str | None:
    path = Path(v).expanduser()
    return "is an existing file; give a directory" if path.is_file() else None


def not_a_dir(v: str) -> str | None:
    return "is a directory; give a file path" if Path(v).expanduser().is_dir() else None


def device(v: str) -> str | None:
    """auto, cpu, cuda, cuda:N or mps, and the device must exist in this torch build."""
    if not re.fullmatch(r"auto|cpu|cuda(:\d+)?|mps", v):
        return "choose one of auto, cpu, cuda, cuda:N, mps"
    if v.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            return f"this torch ({torch.__version__}) sees no CUDA device; use auto or cpu"
        if ":" in v and int(v.split(":")[1]) >= torch.cuda.device_count():
            return f"this machine has {torch.cuda.device_count()} CUDA device(s) (cuda:0 .. cuda:{torch.cuda.device_count() - 1})"
    if v == "mps":
        import torch

        if not torch.backends.mps.is_available():
            return "this torch sees no MPS device; use auto or cpu"
    return None


def increasing_edges(v: list[int]) -> str | None:
    if not v or any(e < 1 for e in v) or any(b <= a for a, b in zip(v, v[1:])):
        return "must be positive token counts in strictly increasing order, e.g. [512, 1024, 2048]"
    return None


def template(field: str) -> Rule:
    def check(v: str):
        try:
            marked = "\0" in v.format(**{field: "\0"})
        except (KeyError, IndexError, ValueError):
            marked = False
        return None if marked else f"must contain {{{field}}} and no other {{placeholder}}"
    return check


def run_name(v: str) -> str | None:
    if not v.strip() or Path(v).is_absolute() or ".." in Path(v).parts:
        return "must be a non-empty relative name without '..'"
    return None


def shard(v: str) -> str | None:
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(v))
    return None if m and 0 <= int(m[1]) < int(m[2]) else "expected 'i/n' with 0 <= i < n, e.g. run.shard=0/4"


def lang_code(v: str) -> str | None:
    return None if LANG_CODE.fullmatch(v) else "must be a language code such as en, zh or pt-br"


def unique(check):
    """Each item passes `check`, and none is listed twice."""
    def run(v: list[str]) -> str | None:
        problem = each(check)(v)
        return problem or (f"lists {sorted({x for x in v if v.count(x) > 1})} twice" if len(set(v)) != len(v) else None)
    return run


unique_langs = unique(lang_code)
# dataset names of a benchmark group (benchmark.datasets): non-empty, each once; the loader knows the names
unique_names = unique(lambda x: None if str(x).strip() else "must not be empty")


def reproduces(v: dict) -> str | None:
    ok = all(isinstance(k, str) and isinstance(rows, list) and all(isinstance(r, str) for r in rows)
             for k, rows in v.items())
    return None if ok else "must map '<benchmark>/<candidates>[/<reranker>]' to a list of row names"


def hybrid_weights(v: list[float]) -> str | None:
    return None if all(w >= 0 for w in v) and any(w > 0 for w in v) else "must be non-negative, not all zero"


def setting(default: Any = dataclasses.MISSING, check: Rule | None = None, *, factory: Callable[[], Any] | None = None):
    """A config field with its check (`field(metadata={"check": ...})`); every field of a config dataclass has one."""
    if check is None:
        raise TypeError("every config field needs a check (use any_value for free text)")
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata={"check": check})
    return dataclasses.field(default=default, metadata={"check": check})


@dataclasses.dataclass(frozen=True)
class Registered:
    """The value must name an entry of a registry (resolved by evalkit/app/validate.py, which sees them all)."""
    registry: str
    many: bool = False

    def __call__(self, value: Any) -> str | None:
        raise TypeError("resolved by evalkit.app.validate")


def registered(registry: str, many: bool = False) -> Registered:
    return Registered(registry, many)


def _path_like(v: str) -> bool:
    return v.startswith((".", "/", "~")) or Path(v).expanduser().exists()

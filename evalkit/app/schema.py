"""The whole config schema: the generic sections of evalkit/config.py plus each registry entry's own section
(candidates.bm25, candidates.dense, reranker.api, ...), assembled from the registries, so that a new entry's
settings are checked by Hydra (types, misspelt keys) and by evalkit/app/validate.py without editing config.py."""
from __future__ import annotations

import dataclasses
import typing
from functools import lru_cache

from evalkit import config
from evalkit.registry import POINTS, Registry, registry


def registries() -> dict[str, Registry]:
    """Every extension point's registry, by the name its config fields use in `registered(...)`."""
    return {point: registry(point) for point in POINTS}


def _with_sections(base: type, entries: Registry) -> type:
    """`base` plus one field per entry that has a config section, named after the entry."""
    sections = [(e.name, e.config, dataclasses.field(default_factory=e.config))
                for e in entries.entries() if e.config is not None]
    return _named(dataclasses.make_dataclass(base.__name__, sections, bases=(base,)))


def _named(cls: type) -> type:
    """Importable as evalkit.app.schema.<name> (module __getattr__ below), so instances pickle (Ray actors)."""
    cls.__module__ = __name__
    return cls


@lru_cache(maxsize=None)
def schema() -> type:
    """The root config dataclass (what Hydra's ConfigStore holds as `evalkit_schema`)."""
    regs = registries()
    candidates = _with_sections(config.CandidatesConfig, regs["candidates"])
    reranker = _with_sections(config.RerankerConfig, regs["reranker"])
    return _named(dataclasses.make_dataclass("Config", [
        ("candidates", candidates, dataclasses.field(default=config.MISSING)),
        ("reranker", reranker, dataclasses.field(default=config.MISSING))], bases=(config.Config,)))


def section_class(path: str) -> type | None:
    """The dataclass of a dotted section of the schema ("candidates.bm25"; "" is the root), or None."""
    node = schema()
    for part in path.split(".") if path else []:
        kind = typing.get_type_hints(node).get(part)
        if not dataclasses.is_dataclass(kind):
            return None
        node = kind
    return node


def register() -> None:
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(name="evalkit_schema", node=schema())


def __getattr__(name: str):
    """`CandidatesConfig`, `RerankerConfig` and `Config` with every entry's section (built on first use)."""
    if name == "Config":
        return schema()
    if name in ("CandidatesConfig", "RerankerConfig"):
        return typing.get_type_hints(schema())[name.removesuffix("Config").lower()]
    raise AttributeError(name)

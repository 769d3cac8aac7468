"""Every config value checked before any work: choices, ranges, paths, devices and required pairs of options.

`check_config(cfg)` raises one `ConfigValueError` naming the key, the value and what is allowed, e.g.
`reranker.dtype='fp8': choose one of auto, fp32, bf16, fp16`. Types are checked earlier, by the structured
configs. Each field's check is declared with the field (`setting(default, check)` in evalkit/config.py and in
each registry entry's own config dataclass); a check that names registry entries (`registered(...)`) is
resolved here from the registries; then the selected entries' optional dependencies (`needs`) and their own
cross-key checks (`requires`) run.
"""
from __future__ import annotations

import dataclasses
import typing
from pathlib import Path
from typing import Any, Iterator

from evalkit.app.schema import registries, schema
from evalkit.checks import ConfigValueError, Registered, Rule, each, one_of
from evalkit.errors import EvalkitError
from evalkit.registry import Needs, check_needs, did_you_mean

REQUIRED = {"reranker.model": "reranker={reranker[name]} needs a model: reranker.model=<hub id or local directory>"}
CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"
# Hydra's launcher plugins, which configs/hydra/launcher/*.yaml build on (not evalkit entries): what each needs.
_SUBMITIT = {"hydra_plugins.hydra_submitit_launcher": "hydra-submitit-launcher"}
LAUNCHERS = {
    "submitit_slurm": Needs(modules=_SUBMITIT, programs={"sbatch": "slurm-client"}, extra="slurm"),
    "submitit_local": Needs(modules=_SUBMITIT, extra="slurm"),
    "joblib": Needs(modules={"hydra_plugins.hydra_joblib_launcher": "hydra-joblib-launcher"}),
    "ray": Needs(modules={"hydra_plugins.hydra_ray_launcher": "hydra-ray-launcher", "ray": "ray"}),
}


def reranker_presets() -> tuple[str, ...]:
    """The `name:` of every configs/reranker/*.yaml (a new preset brings its name with it)."""
    import yaml

    names = {(yaml.safe_load(p.read_text(encoding="utf-8")) or {}).get("name")
             for p in (CONFIG_DIR / "reranker").glob("*.yaml")}
    return tuple(sorted(n for n in names if n))


def _choices(check: Registered) -> tuple[str, ...]:
    if check.registry == "reranker presets":
        return reranker_presets()
    return registries()[check.registry].names()


def _one_of_suggesting(choices: tuple[str, ...]) -> Rule:
    """`one_of`, and the closest choice to a misspelt value."""
    rule = one_of(*choices)

    def check(value: Any) -> str | None:
        problem = rule(value)
        hint = did_you_mean(value, choices) if problem else ""
        return f"{problem} ({hint})" if hint else problem
    return check


def resolve(check: Any) -> Rule:
    """A field's check as a plain rule (registry names looked up now)."""
    if isinstance(check, Registered):
        rule = _one_of_suggesting(_choices(check))
        return each(rule) if check.many else rule
    return check


def field_checks(node: type, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted key, check) for every leaf field of a config dataclass, sections included; None where a field has
    no check (tests/test_validate.py holds every field to having one)."""
    hints = typing.get_type_hints(node)
    for f in dataclasses.fields(node):
        key = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(hints.get(f.name)):
            yield from field_checks(hints[f.name], key + ".")
        else:
            yield key, f.metadata.get("check")


def known_keys_hint(key: str | None) -> str:
    """For a misspelt key: "; did you mean <closest>? <section> has: <its keys>" (from the schema), or ""."""
    from evalkit.app.schema import section_class

    if not key:
        return ""
    section, _, name = key.rpartition(".")
    node = section_class(section)
    if node is None:
        return ""
    names = [f.name for f in dataclasses.fields(node)]
    if name in names:
        return ""
    hint = did_you_mean(name, names, prefix=f"{section}." if section else "")
    return (f"; {hint} " if hint else "; ") + f"{section or 'the top level'} has: {', '.join(names)}"


def unknown_keys(tree: dict, node: type, prefix: str = "") -> Iterator[str]:
    """Dotted keys of `tree` that no field of the config dataclass `node` declares: Hydra's `+key=value` adds a key
    even to a structured config, so a misspelling added with + reaches here (free-form dict fields are not walked)."""
    hints = typing.get_type_hints(node)
    for key, value in tree.items():
        if key not in hints:
            yield f"{prefix}{key}"
        elif dataclasses.is_dataclass(hints[key]) and isinstance(value, dict):
            yield from unknown_keys(value, hints[key], f"{prefix}{key}.")


def check_known_keys(tree: dict) -> None:
    """The first key the schema does not declare, as one line with the closest key and its section's keys."""
    key = next(unknown_keys(tree, schema()), None)
    if key is not None:
        raise EvalkitError(f"{key} is not a configuration key (+ adds a key, it does not make one valid)"
                           f"{known_keys_hint(key)}")


def _get(tree: dict, key: str) -> Any:
    for part in key.split("."):
        tree = tree[part]
    return tree


def _picks(tree: dict) -> list[tuple[str, Any]]:
    """(group=name, entry) of each selected entry."""
    regs = registries()
    picks = [("benchmark", tree.get("benchmark", {}).get("name")),
             ("candidates", tree.get("candidates", {}).get("name")),
             ("reranker", tree.get("reranker", {}).get("backend")),
             ("executor", tree.get("executor", {}).get("name"))]
    return [(f"{kind}={name}", regs[kind][name]) for kind, name in picks if name is not None]


def _selected_entries(tree: dict):
    return [entry for _, entry in _picks(tree)]


def check_dependencies(tree: dict) -> None:
    """A MissingDependency (one line: what, and the install command) for the first selected entry, first stage a
    hybrid fuses or report format whose optional dependencies are not installed."""
    regs = registries()
    for what, entry in _picks(tree):
        check_needs(entry.needs, what)
        for used in entry.uses(tree["candidates"]) if entry.uses else ():
            if used in regs["candidates"]:
                check_needs(regs["candidates"][used].needs, f"candidates.hybrid.systems={used}")
    for name in (tree.get("report") or {}).get("formats") or ():
        if name in regs["report.formats"]:
            check_needs(regs["report.formats"][name].needs, f"report.formats={name}")


def launcher_plugin(option: str) -> str:
    """The Hydra plugin a `hydra/launcher=` option runs on: its YAML's first default (slurm_gpu ->
    submitit_slurm), or the option itself (a plugin's own name)."""
    import yaml

    path = CONFIG_DIR / "hydra" / "launcher" / f"{option}.yaml"
    if not path.is_file():
        return option
    defaults = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("defaults") or []
    return next((d for d in defaults if isinstance(d, str) and d != "_self_"), option)


def check_launcher(overrides: list[str]) -> None:
    """`hydra/launcher=X` on the command line: X's plugin and programs installed (before Hydra looks for them)."""
    for override in overrides:
        key, _, value = override.lstrip("+~").partition("=")
        if key == "hydra/launcher" and value:
            check_needs(LAUNCHERS.get(launcher_plugin(value)), f"hydra/launcher={value}")


def check_config(cfg) -> None:
    """Raise one ConfigValueError for the first value that is not allowed (a DictConfig or a plain dict)."""
    from omegaconf import DictConfig, OmegaConf
    from omegaconf.errors import MissingMandatoryValue

    if isinstance(cfg, DictConfig):
        try:
            tree = OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)
        except MissingMandatoryValue as exc:
            key = getattr(exc, "full_key", "") or "?"
            hint = REQUIRED.get(key, f"is required: set {key}=... on the command line")
            raise ConfigValueError(key, "???", hint.format(**OmegaConf.to_container(cfg))) from None
    else:
        tree = cfg
    check_known_keys(tree)
    for key, check in field_checks(schema()):
        try:
            value = _get(tree, key)
        except (KeyError, TypeError):
            continue                        # a section this config does not have
        problem = resolve(check)(value)
        if problem:
            raise ConfigValueError(key, value, problem)
    check_dependencies(tree)
    for entry in _selected_entries(tree):
        if entry.requires:
            entry.requires(tree)

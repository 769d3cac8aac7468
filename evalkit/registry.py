"""Extension points as registries: a benchmark, first stage, reranker backend, report format or executor is one
entry (a name, its config dataclass, its checks and its builder), declared in its own module.

An entry module registers itself with `@REGISTRY.register("name", ...)` on its builder. A registry finds its
entries by reading the modules of its package (those whose source calls `<REGISTRY>.register(`) and importing
only those, so adding an entry edits no list: drop the module in the package, add its YAML under configs/.
Entry modules keep heavy imports (torch, transformers, Java) inside their builders, so that listing and checking
the entries (every CLI run does, before any work) stays cheap. What an entry needs beyond evalkit's core
dependencies is declared with it (`needs=Needs(...)`, literal arguments only, so `evalkit --help` reads it from
source) and checked before any work without importing it.
"""
from __future__ import annotations

import ast
import difflib
import importlib
import importlib.metadata
import importlib.util
import os
import pkgutil
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

from evalkit.errors import EvalkitError

Check = Callable[[dict], None]     # the whole config tree (plain dicts) -> raises ConfigValueError

# The extension points: name -> (the config key naming an entry, the package of entry modules, "module:VARIABLE"
# of the registry). The one list of them; entries are never listed, they register themselves.
POINTS = {
    "benchmark": ("benchmark.name", "evalkit.data", "evalkit.data:BENCHMARKS"),
    "candidates": ("candidates.name", "evalkit.candidates", "evalkit.candidates:FIRST_STAGES"),
    "reranker": ("reranker.backend", "evalkit.rerank", "evalkit.rerank:RERANKERS"),
    "executor": ("executor.name", "evalkit.executors", "evalkit.executors:EXECUTORS"),
    "report.formats": ("report.formats", "evalkit.report", "evalkit.report.formats:REPORT_FORMATS"),
}


class MissingDependency(EvalkitError):
    """An optional dependency of the selected configuration is not installed (one line: what and how)."""


@dataclass(frozen=True)
class Needs:
    """What an entry needs beyond the core: Python modules (import name -> distribution), programs (executable ->
    Debian package; `homes` names an environment variable that can stand in, e.g. JAVA_HOME for java), the pip
    extra that installs the modules and a further install step (`then`)."""

    modules: dict[str, str] = field(default_factory=dict)
    programs: dict[str, str] = field(default_factory=dict)
    extra: Optional[str] = None
    then: Optional[str] = None
    homes: dict[str, str] = field(default_factory=dict)

    def install(self) -> str:
        first = (f'pip install -e ".[{self.extra}]"' if self.extra else
                 "pip install " + " ".join(dict.fromkeys(self.modules.values())))
        return f"{first} && {self.then}" if self.then else first

    def missing(self) -> tuple[list[str], list[str]]:
        """(distributions, programs) not found; nothing is imported (find_spec and package metadata only)."""
        dists = [dist for module, dist in self.modules.items() if not _installed(module, dist)]
        programs = [p for p in self.programs if not (shutil.which(p) or _home_has(self.homes.get(p), p))]
        return list(dict.fromkeys(dists)), programs

    def problem(self, what: str) -> Optional[str]:
        """One line for `what` (e.g. "candidates=lucene") when something is missing, else None."""
        dists, programs = self.missing()
        parts = [f"{', '.join(dists)} ({self.install()})"] if dists else []
        parts += [f"{p} (apt-get install {self.programs[p]})" for p in programs]
        return f"{what} needs {' and '.join(parts)}" if parts else None

    def describe(self) -> str:
        """For `evalkit --help`: what it needs and how to install it."""
        things = list(dict.fromkeys(self.modules.values())) + list(self.programs)
        extra = f"; {self.install()}" if self.modules else ""
        debs = "; apt-get install " + " ".join(self.programs.values()) if self.programs else ""
        return f"needs {', '.join(things)}{extra}{debs}"


def _installed(module: str, dist: str) -> bool:
    try:
        if importlib.util.find_spec(module) is None:
            return False
    except (ImportError, ValueError):   # a parent package is missing (or hidden)
        return False
    try:
        importlib.metadata.distribution(dist)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def _home_has(variable: Optional[str], program: str) -> bool:
    home = os.environ.get(variable or "")
    return bool(home) and (Path(home) / "bin" / program).is_file()


def did_you_mean(word: Any, choices, prefix: str = "") -> str:
    """"did you mean X?" for the closest of `choices` to a misspelt `word` (difflib), or "" when none is close."""
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f"did you mean {prefix}{close[0]}?" if close else ""


def check_needs(needs: Optional[Needs], what: str) -> None:
    problem = needs.problem(what) if needs is not None else None
    if problem:
        raise MissingDependency(problem)


@dataclass(frozen=True)
class Entry:
    name: str
    build: Callable[..., Any]                 # what the entry does (signature fixed by its registry)
    config: Optional[type] = None             # its own config section (a dataclass), e.g. candidates.<name>
    requires: Optional[Check] = None          # cross-key checks run when this entry is selected
    uses: Optional[Callable[[dict], list[str]]] = None   # entries whose sections shape its output (hybrid)
    needs: Optional[Needs] = field(default=None, hash=False)   # optional dependencies, checked before any work

    @property
    def help(self) -> str:
        doc = (self.build.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else ""


def registry(point: str) -> "Registry":
    """The live registry of an extension point (imports the module that holds it)."""
    module, variable = POINTS[point][2].split(":")
    return getattr(importlib.import_module(module), variable)


def outline(point: str) -> list[tuple[str, str]]:
    """(name, help) of an extension point's entries without importing any of its modules (`evalkit --help`)."""
    key, package, holder = POINTS[point]
    return Registry(key, package, holder.split(":")[1]).outline()


def new_registry(point: str) -> "Registry":
    """The registry object an extension point's holder module creates (`X = new_registry("candidates")`)."""
    key, package, holder = POINTS[point]
    return Registry(key, package, holder.split(":")[1])


class Registry:
    """Entries of one extension point. `key` is the config key that names an entry (for error messages);
    `package` is where entry modules live; `marker` is the registry's variable name they call."""

    def __init__(self, key: str, package: str, marker: str):
        self.key, self.package, self.marker = key, package, marker
        self._entries: dict[str, Entry] = {}
        self._discovered = False

    def register(self, name: str, **facts: Any) -> Callable[[Callable], Callable]:
        def add(build: Callable) -> Callable:
            if name in self._entries and self._entries[name].build is not build:
                raise EvalkitError(f"{self.key}: {name!r} is registered twice "
                                   f"({self._entries[name].build.__module__} and {build.__module__})")
            self._entries[name] = Entry(name, build, **facts)
            return build
        return add

    def _modules(self) -> Iterator[tuple[str, Path, str]]:
        """(module name, path, source) of each module of the package that registers an entry here."""
        spec = importlib.util.find_spec(self.package)
        folder = Path(spec.origin).parent
        needle = f"{self.marker}.register("
        for info in pkgutil.iter_modules([str(folder)]):
            path = folder / (f"{info.name}/__init__.py" if info.ispkg else f"{info.name}.py")
            source = path.read_text(encoding="utf-8") if path.is_file() else ""
            if needle in source:
                yield f"{self.package}.{info.name}", path, source

    def _discover(self) -> None:
        if self._discovered:
            return
        self._discovered = True
        importlib.import_module(self.package)
        for module, _, _ in list(self._modules()):
            importlib.import_module(module)

    def _registrations(self) -> Iterator[tuple[str, ast.AST, ast.Call]]:
        """(name, decorated node, register call) of every entry, from the modules' source."""
        for _, path, source in self._modules():
            for node in ast.walk(ast.parse(source)):
                for deco in getattr(node, "decorator_list", []):
                    if (isinstance(deco, ast.Call) and isinstance(deco.func, ast.Attribute)
                            and deco.func.attr == "register" and getattr(deco.func.value, "id", None) == self.marker
                            and deco.args and isinstance(deco.args[0], ast.Constant)):
                        yield deco.args[0].value, node, deco

    def outline(self) -> list[tuple[str, str]]:
        """(name, first docstring line) of every entry, read from the modules' source without importing them
        (what `evalkit --help` lists; tests/test_registries.py holds it equal to the imported entries)."""
        found = {}
        for name, node, _ in self._registrations():
            doc = (ast.get_docstring(node) or "").strip()
            found[name] = doc.splitlines()[0] if doc else ""
        return sorted(found.items())

    def outline_needs(self) -> dict[str, Needs]:
        """name -> `Needs` of the entries that declare some, read from source (their literal arguments)."""
        found = {}
        for name, _, deco in self._registrations():
            for kw in deco.keywords:
                if kw.arg == "needs" and isinstance(kw.value, ast.Call):
                    found[name] = Needs(**{k.arg: ast.literal_eval(k.value) for k in kw.value.keywords})
        return found

    def names(self) -> tuple[str, ...]:
        self._discover()
        return tuple(sorted(self._entries))

    def entries(self) -> Iterator[Entry]:
        self._discover()
        return iter([self._entries[n] for n in sorted(self._entries)])

    def __contains__(self, name: object) -> bool:
        self._discover()
        return name in self._entries

    def __getitem__(self, name: str) -> Entry:
        self._discover()
        if name not in self._entries:
            hint = did_you_mean(name, self.names())
            raise EvalkitError(f"{self.key}={name!r} is not one of {list(self.names())}"
                               + (f"; {hint}" if hint else ""))
        return self._entries[name]

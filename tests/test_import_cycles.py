"""The package's import graph has no cycles and no import points up the layers (LAYERS): every `import` inside evalkit/ counts, at module level or deferred
inside a function, so a cycle cannot be hidden by moving an import into a function body."""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "evalkit"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The evalkit modules that `path` imports; `from pkg import name` counts as pkg.name when that is a module."""
    name = module_name(path)
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[:len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:   # `import a.b.c` of a name inside module a.b
                target = target.rpartition(".")[0]
            if target and target != name and not name.startswith(target + "."):   # a parent package is not a dependency
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    files = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(p) for p in files}
    return {module_name(p): imports_of(p, modules) for p in files}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a list of modules (first == last), or None; iterative DFS with colours."""
    state: dict[str, int] = {}
    for root in sorted(graph):
        if state.get(root):
            continue
        stack, path = [(root, iter(sorted(graph[root])))], [root]
        state[root] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
                path.pop()
            elif state.get(child) == 1:
                return path[path.index(child):] + [child]
            elif not state.get(child):
                state[child] = 1
                stack.append((child, iter(sorted(graph.get(child, ())))))
                path.append(child)
    return None


def test_finder_sees_a_cycle_and_a_deferred_import(tmp_path):
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    module = tmp_path / "evalkit" / "x.py"
    module.parent.mkdir()
    module.write_text("def f():\n    from evalkit.y import z\n")
    global PACKAGE
    saved, PACKAGE = PACKAGE, tmp_path / "evalkit"
    try:
        assert imports_of(module, {"evalkit", "evalkit.x", "evalkit.y"}) == {"evalkit.y"}
    finally:
        PACKAGE = saved


def test_evalkit_has_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_top_level_holds_only_packages_and_the_spine():
    """The folder list shows the pipeline: stage and service packages, plus the few modules that wire them."""
    spine = {"__init__.py", "__main__.py", "cli.py", "pipeline.py", "config.py", "checks.py", "registry.py",
             "contracts.py", "errors.py", "commands.py", "progress.py", "testing.py"}
    loose = sorted(p.name for p in PACKAGE.glob("*.py") if p.name not in spine)
    assert loose == [], f"modules outside a package: {loose}"
    assert all((p / "__init__.py").is_file() for p in PACKAGE.iterdir() if p.is_dir() and any(p.glob("*.py")))


# Bottom to top: a module may import its own layer and the layers below, never one above (deferred imports count).
LAYERS = [
    ["evalkit", "evalkit.errors", "evalkit.contracts", "evalkit.storage", "evalkit.progress", "evalkit.commands",
     "evalkit.registry", "evalkit.checks", "evalkit.config",
     "evalkit.metrics.measures"],   # the spine and utilities every stage uses (measure names: config checks parse them)
    ["evalkit.models"],                                              # the shared model runtime
    ["evalkit.data", "evalkit.metrics"],                             # benchmarks; evaluation
    ["evalkit.m3", "evalkit.candidates", "evalkit.rerank"],          # first stages and rerankers
    ["evalkit.report", "evalkit.gate"],                              # reports, comparisons, the CI gate
    ["evalkit.executors"],                                           # where stages run; shards and their merge
    ["evalkit.pipeline"],                                            # the wiring of one run
    ["evalkit.app", "evalkit.cli", "evalkit.__main__", "evalkit.testing"],   # the CLI; test-time helpers
]


def layer_of(module: str) -> int:
    """The layer of the longest prefix naming `module` (a module not placed is an error: place it)."""
    found = [(len(p), i) for i, prefixes in enumerate(LAYERS) for p in prefixes
             if module == p or module.startswith(p + ".")]
    assert found, f"{module} is in no layer of tests/test_import_cycles.py LAYERS"
    return max(found)[1]


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    return [f"{m} (layer {layer_of(m)}) imports {d} (layer {layer_of(d)})"
            for m, deps in sorted(graph.items()) for d in sorted(deps) if layer_of(d) > layer_of(m)]


def test_no_import_points_up_the_layers():
    assert upward_imports(import_graph()) == []


def test_the_layer_check_sees_a_seeded_upward_import():
    graph = import_graph()
    graph["evalkit.data.docstore"] = graph["evalkit.data.docstore"] | {"evalkit.app.validate"}
    assert upward_imports(graph) == ["evalkit.data.docstore (layer 2) imports evalkit.app.validate (layer 7)"]

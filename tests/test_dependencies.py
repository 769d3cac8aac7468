"""A missing optional dependency is one line and exit 2, before any work: each path run with its dependency hidden
(a sitecustomize.py whose meta-path finder refuses the modules; PATH without the programs)."""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from cli_runner import REPO, evalkit
from evalkit.registry import POINTS, new_registry, registry

HIDER = '''
import os, sys
HIDDEN = [m for m in os.environ.get("HIDE_MODULES", "").split(",") if m]
class _Hide:
    def find_spec(self, name, path=None, target=None):
        if any(name == m or name.startswith(m + ".") for m in HIDDEN):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, _Hide())
'''
BARE_PATH = str(Path(sys.executable).parent)   # python, pip: no java, no sbatch
LUCENE_PIP = 'pip install -e ".[lucene]" && pip install --no-deps pyserini==0.22.1'
JAVA = "java (apt-get install openjdk-17-jre-headless)"


@pytest.fixture(scope="module")
def hider(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("hide")
    (folder / "sitecustomize.py").write_text(HIDER)
    return folder


CASES = {
    "lucene": (["candidates=lucene"], "pyserini,jnius", BARE_PATH,
               f"candidates=lucene needs pyserini, pyjnius ({LUCENE_PIP}) and {JAVA}"),
    "lucene-java": (["candidates=lucene"], "", BARE_PATH, f"candidates=lucene needs {JAVA}"),
    "lucene-pyserini": (["candidates=lucene"], "pyserini", None,
                        f"candidates=lucene needs pyserini ({LUCENE_PIP})"),
    "hybrid-lucene": (["candidates=hybrid", "candidates.hybrid.systems=[bm25,lucene]"], "pyserini", None,
                      f"candidates.hybrid.systems=lucene needs pyserini ({LUCENE_PIP})"),
    "ray": (["executor=ray"], "ray", None, 'executor=ray needs ray (pip install -e ".[ray]")'),
    "api": (["reranker=api", "reranker.api.base_url=http://127.0.0.1:9"], "httpx", None,
            "reranker=api needs httpx (pip install httpx)"),
    "slurm": (["--multirun", "hydra/launcher=slurm_gpu"], "hydra_plugins.hydra_submitit_launcher", BARE_PATH,
              'hydra/launcher=slurm_gpu needs hydra-submitit-launcher (pip install -e ".[slurm]") and sbatch '
              "(apt-get install slurm-client)"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_hidden_dependency_is_one_line_and_exit_2(case, hider, tmp_path):
    args, hidden, path, expected = CASES[case]
    env = {"PYTHONPATH": f"{REPO}:{hider}", "HIDE_MODULES": hidden, "JAVA_HOME": "",
           "EVALKIT_CACHE": tmp_path / "cache"}
    if path:
        env["PATH"] = path
    done = evalkit(*args, "reranker=none" if "reranker=api" not in args else "run.name=x",
                   f"hydra.run.dir={tmp_path / 'run'}", f"hydra.sweep.dir={tmp_path / 'sweep'}", env=env, timeout=120)
    assert (done.returncode, done.stderr) == (2, f"evalkit: error: {expected}\n"), done.stderr[-2000:]
    assert not (tmp_path / "run").exists() and not (tmp_path / "cache").exists()   # nothing was started


def test_the_needs_help_shows_are_the_entries_own():
    """`evalkit --help` reads the declarations from source; they equal the imported entries' `needs`."""
    for point in POINTS:
        imported = {e.name: e.needs for e in registry(point).entries() if e.needs is not None}
        assert new_registry(point).outline_needs() == imported, point
    assert registry("candidates")["lucene"].needs.programs == {"java": "openjdk-17-jre-headless"}
    out = evalkit("--help", check=True).stdout
    assert 'needs pyserini, pyjnius, java; pip install -e ".[lucene]"' in out
    assert 'needs ray; pip install -e ".[ray]"' in out


def test_runtime_code_imports_neither_pytest_nor_a_browser():
    """pytest lives in the test extra and the explorer is plain HTML (tests drive Chromium, evalkit never does), so
    no module of evalkit imports either; pyproject's runtime dependencies leave pytest out."""
    import tomllib

    found = []
    for path in (REPO / "evalkit").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            found += [(path.name, n) for n in names if n.split(".")[0] in ("pytest", "playwright", "_pytest")]
    assert found == []
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    runtime = [d.split(">")[0].split("=")[0].split("[")[0].strip() for d in project["dependencies"]]
    assert "pytest" not in runtime and any(d.startswith("pytest") for d in project["optional-dependencies"]["test"])

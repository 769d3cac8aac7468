"""`evalkit --help` and every subcommand's help: what evalkit is, its subcommands, the config groups; no heavy import."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from evalkit.commands import SUBCOMMANDS

REPO = Path(__file__).resolve().parent.parent
HEAVY = ("numpy", "pandas", "hydra", "omegaconf", "torch", "transformers", "ranx", "scipy", "pyarrow")
PROBE = """import json, sys
sys.argv = ["evalkit", *sys.argv[1:]]
from evalkit.cli import entry
try:
    entry()
except SystemExit as exc:
    code = exc.code
sys.stdout.flush()
sys.stderr.write(json.dumps({"code": code, "heavy": sorted(m for m in %r if m in sys.modules)}) + "\\n")
""" % (HEAVY,)


def probe(*args: str) -> tuple[str, dict]:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=120,
                          cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    return done.stdout, json.loads(done.stderr.strip().splitlines()[-1])


def test_top_level_help_describes_evalkit_then_subcommands_then_groups():
    out, info = probe("--help")
    assert info == {"code": 0, "heavy": []}
    assert out.startswith("evalkit: multilingual retrieval evaluation")
    sub, groups = out.index("subcommands:"), out.index("config groups")
    assert sub < groups
    for name in SUBCOMMANDS:
        assert f"\n  {name} " in out[sub:groups]
    for group in ("benchmark", "candidates", "reranker", "metrics", "report", "executor", "experiment"):
        options = sorted(p.stem for p in (REPO / "configs" / group).glob("*.yaml"))
        line = next(l for l in out[groups:].splitlines() if l.startswith(f"  {group} "))
        assert all(o in line for o in options), line
    assert "Hydra options" in out and "--multirun" in out


@pytest.mark.parametrize("name", sorted(SUBCOMMANDS))
def test_subcommand_help_imports_nothing_heavy(name):
    out, info = probe(name, "--help")
    assert info == {"code": 0, "heavy": []}
    assert out.startswith(f"usage: evalkit {name}")


def test_subcommand_help_is_the_parser_main_uses():
    """The light parser is the one the subcommand parses with: a bad option fails there, exit 2."""
    done = subprocess.run([sys.executable, "-m", "evalkit", "compare", "--no-such-flag", "x"], capture_output=True,
                          text=True, timeout=300, cwd=REPO)
    assert done.returncode == 2 and "unrecognized arguments: --no-such-flag" in done.stderr

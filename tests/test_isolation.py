"""Tests never touch the user's cache: the suite's fixtures, run under a fake HOME with EVALKIT_CACHE unset,
write nothing into that HOME (tests/conftest.py gives the whole session a private HOME and cache)."""
import os
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def test_suite_fixtures_write_nothing_into_home(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "EVALKIT_CACHE"}
    env.update(HOME=str(home), HF_HUB_OFFLINE="1", PYTHONPATH=str(TESTS.parent))
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(TESTS.parent),
                           "-c", str(TESTS.parent / "pyproject.toml"), str(TESTS / "isolation" / "probe_fixtures.py"),
                           str(TESTS / "test_trec.py"), "--confcutdir", str(TESTS)],
                          cwd=TESTS.parent, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "passed" in proc.stdout and "failed" not in proc.stdout
    written = sorted(str(p.relative_to(home)) for p in home.rglob("*"))
    assert written == []

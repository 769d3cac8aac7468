"""The one way tests start the evalkit CLI in a child process.

`evalkit(...)` runs it to the end and returns the CompletedProcess (text output captured); `evalkit_popen(...)`
starts it and returns the live Popen, for tests that signal, kill or run several at once (`finish` waits for
one and gives a CompletedProcess). Both run `sys.executable -m evalkit ARGS` (or `sys.executable -c SCRIPT ARGS`
for a patched entry point) with:

- the test's own environment inherited (`inherit_env=False` starts from an empty one): its private EVALKIT_CACHE
  and HOME (tests/conftest.py) reach the child unless `env` names another cache;
- this checkout first on PYTHONPATH, so the child imports the same evalkit as the test, whatever an editable
  install elsewhere points at;
- HF_HUB_OFFLINE=1: no test reaches the network;
- `env` last, so a test can override any of these.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PIPE, STDOUT, DEVNULL = subprocess.PIPE, subprocess.STDOUT, subprocess.DEVNULL


def cli_env(env: dict | None = None, *, inherit_env: bool = True) -> dict[str, str]:
    base = dict(os.environ) if inherit_env else {}
    paths = [str(REPO)] + [p for p in base.get("PYTHONPATH", "").split(os.pathsep) if p and p != str(REPO)]
    return {**base, "HF_HUB_OFFLINE": "1", "PYTHONPATH": os.pathsep.join(paths),
            **{k: str(v) for k, v in (env or {}).items()}}


def command(args, script: str | None = None) -> list[str]:
    return [sys.executable, *(["-c", script] if script else ["-m", "evalkit"]), *map(str, args)]


def evalkit(*args, cwd: Path | str | None = None, env: dict | None = None, inherit_env: bool = True,
            timeout: float | None = 900, check: bool = False, script: str | None = None) -> subprocess.CompletedProcess:
    """Run the CLI to the end; `check=True` raises AssertionError with the tail of its stderr on a non-zero exit."""
    proc = subprocess.run(command(args, script), cwd=cwd, env=cli_env(env, inherit_env=inherit_env),
                          capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"evalkit {' '.join(map(str, args))} exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return proc


def evalkit_popen(*args, cwd: Path | str | None = None, env: dict | None = None, inherit_env: bool = True,
                  log: Path | None = None, stdout=PIPE, stderr=PIPE, script: str | None = None) -> subprocess.Popen:
    """Start the CLI and return at once. `log`: stdout and stderr both go to that file (a file, not a pipe: a child
    never blocks on an undrained pipe while it holds a cache lock others wait on); else `stdout`/`stderr` as Popen's
    (pipes by default, text mode)."""
    full = dict(cwd=cwd, env=cli_env(env, inherit_env=inherit_env))
    if log is None:
        return subprocess.Popen(command(args, script), stdout=stdout, stderr=stderr, text=True, **full)
    with open(log, "w") as sink:
        return subprocess.Popen(command(args, script), stdout=sink, stderr=subprocess.STDOUT, **full)


def finish(proc: subprocess.Popen, timeout: float = 900) -> subprocess.CompletedProcess:
    """Wait for a started CLI (its pipes drained) and give what `evalkit` would have returned."""
    out, err = proc.communicate(timeout=timeout)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)

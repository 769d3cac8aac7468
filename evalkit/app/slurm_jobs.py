"""A `--multirun` sweep on a submitit launcher (hydra/launcher=slurm_cpu, slurm_gpu): a job that ended without a
result (an evalkit error, scancel, killed for memory or time) is one stderr line, not submitit's traceback:

    evalkit: error: SLURM job 12_2 (run.shard=2/4 ...) failed: <the job's own last evalkit line, else its state>;
    its log: <sweep dir>/.submitit/12_2/12_2_0_log.err

and exit 1. Hydra prints (and swallows) any exception of a launcher itself, and a launcher outside the
`hydra_plugins` package cannot be loaded, so the line is made here around the sweep: Hydra's full-error mode lets
submitit's error reach `failed_jobs`. Hydra's submitit launcher waits for the jobs in order and stops at the first
that failed (the others keep running; the sweep's FAILED.txt lists each failed job as it fails).
"""
from __future__ import annotations

import os
import re
import sys
from contextlib import contextmanager
from pathlib import Path

RESULT = re.compile(r"Job (\S+) \(task: (\d+)\) with path (\S+)_result\.pkl")
STATE = re.compile(r"\(state: ([^)]*)\)")


def submitit_launcher(args: list[str]) -> bool:
    """`hydra/launcher=X` on the command line, X running on a submitit plugin (submitit_slurm, submitit_local)."""
    from evalkit.app.validate import launcher_plugin

    return any(a.lstrip("+").startswith("hydra/launcher=")
               and launcher_plugin(a.partition("=")[2]).startswith("submitit") for a in args)


@contextmanager
def failed_jobs(args: list[str]):
    """Around Hydra's main: a submitit job that ended without a result becomes its one line, exit 1."""
    if not submitit_launcher(args) or os.environ.get("HYDRA_FULL_ERROR"):
        yield
        return
    os.environ["HYDRA_FULL_ERROR"] = "1"
    try:
        yield
    except Exception as exc:
        line = failure_line(exc)
        if line is None:
            raise
        sys.stderr.write(f"evalkit: error: {line}\n")
        raise SystemExit(1) from None
    finally:
        os.environ.pop("HYDRA_FULL_ERROR", None)


def failure_line(exc: BaseException) -> str | None:
    """`SLURM job <id> (<overrides>) failed: <why>; its log: <file>` from submitit's UncompletedJobError (None for
    any other error)."""
    match = RESULT.search(str(exc))
    if type(exc).__name__ not in ("UncompletedJobError", "FailedJobError") or not match:
        return None
    job, task, stem = match[1], match[2], Path(match[3])
    folder = stem.parent
    log, point = folder / f"{job}_{task}_log.err", _overrides(folder / f"{job}_submitted.pkl")
    return f"SLURM job {job} ({point}) failed: {_reason(log, exc)}; its log: {log}"


def _overrides(submitted: Path) -> str:
    """The sweep point's overrides, from the job's pickled submission (hydra-submitit-launcher's call arguments)."""
    try:
        from hydra.core.utils import filter_overrides
        from submitit.core.utils import DelayedSubmission

        return " ".join(filter_overrides(DelayedSubmission.load(submitted).args[0])) or "no overrides"
    except Exception:   # a report of a failure must not fail itself
        return "overrides unknown"


def _reason(log: Path, exc: BaseException) -> str:
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        lines = []
    own = [line for line in lines if line.startswith("evalkit: ") and " sweep job " not in line]
    if own:
        return own[-1].removeprefix("evalkit: error: ").removeprefix("evalkit: ")
    state = STATE.search(str(exc))
    return f"SLURM state {state[1] if state else 'unknown'}"

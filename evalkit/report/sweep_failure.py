"""A `--multirun` sweep whose job fails is marked: `<sweep dir>/FAILED.txt` names each failed job (number,
overrides, the error line, its directory) and one stderr line says where, so a directory holding only
`multirun.yaml` and finished runs never passes for a finished sweep (no comparison report is written then).

The job marks itself (evalkit/cli.py), not a Hydra `on_job_end` callback: evalkit's one-line errors end a job
with SystemExit, which Hydra's `run_job` does not catch, so `on_job_end` never sees those jobs. Marking from the
job also works where a launcher runs it in another process or on another node (joblib, SLURM). A new attempt at
the same sweep directory starts unmarked (`clear`, from the sweep callback's `on_multirun_start`).
"""
from __future__ import annotations

import logging
from pathlib import Path

from filelock import FileLock

from evalkit.storage.atomic import atomic_write_text

log = logging.getLogger(__name__)
NAME = "FAILED.txt"
HEADER = ("This sweep did not finish: the job(s) below failed, so the sweep wrote no comparison report of its own. Job "
          "directories that hold a report.md are complete runs; fix the failing job and run the sweep again.\n\n")


def reason(exc: BaseException) -> str:
    """The failure in one line: evalkit's own error (the cause of its SystemExit), else the exception's first line."""
    if isinstance(exc, SystemExit):
        cause = exc.__cause__
        return f"{_line(cause)} (exit {exc.code})" if cause is not None else f"stopped (exit {exc.code})"
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    return f"{exc.__class__.__name__}: {_line(exc)}"


def _line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else exc.__class__.__name__


def mark(exc: BaseException) -> tuple[int, Path] | None:
    """In a --multirun job: add this job to FAILED.txt and return (job number, its path); None outside a sweep.
    Never raises (the job's own error is what the user must see)."""
    try:
        from hydra.core.hydra_config import HydraConfig
        from hydra.types import RunMode

        if not HydraConfig.initialized() or HydraConfig.get().mode != RunMode.MULTIRUN:
            return None
        hydra = HydraConfig.get()
        sweep, job_dir = Path(hydra.sweep.dir), Path(hydra.runtime.output_dir)
        entry = (f"job {hydra.job.num} ({' '.join(hydra.overrides.task) or 'no overrides'}): {reason(exc)}; "
                 f"its directory: {job_dir}\n")
        path = sweep / NAME
        sweep.mkdir(parents=True, exist_ok=True)
        with FileLock(str(sweep / f".{NAME}.lock")):          # parallel launchers: several jobs may fail at once
            before = path.read_text(encoding="utf-8") if path.is_file() else HEADER
            atomic_write_text(path, before + entry)
        return int(hydra.job.num), path
    except Exception as problem:   # marking is a courtesy: never hide the job's own failure behind it
        log.warning("could not mark the sweep as failed (%s)", problem)
        return None


def unmark() -> None:
    """In a --multirun job that finished: drop this job's entries (left by an attempt that was requeued or rerun,
    e.g. a SLURM job preempted and requeued); a FAILED.txt left with no entry goes. Never raises."""
    try:
        from hydra.core.hydra_config import HydraConfig
        from hydra.types import RunMode

        if not HydraConfig.initialized() or HydraConfig.get().mode != RunMode.MULTIRUN:
            return
        sweep, mine = Path(HydraConfig.get().sweep.dir), f"job {HydraConfig.get().job.num} ("
        path = sweep / NAME
        if not path.is_file():
            return
        with FileLock(str(sweep / f".{NAME}.lock")):
            entries = path.read_text(encoding="utf-8").removeprefix(HEADER).splitlines(keepends=True)
            kept = [e for e in entries if not e.startswith(mine)]
            if not kept:
                path.unlink()
            elif len(kept) < len(entries):
                atomic_write_text(path, HEADER + "".join(kept))
    except Exception as problem:
        log.warning("could not update the sweep's %s (%s)", NAME, problem)


def clear(sweep: Path) -> None:
    """A new attempt at a sweep directory starts unmarked."""
    (Path(sweep) / NAME).unlink(missing_ok=True)

"""Named fault points for the crash tests: `EVALKIT_FAULT=kill:N` SIGKILLs the process at the N-th point it
passes (counted from 1), `EVALKIT_FAULT_LOG=FILE` appends the name of every point passed. Both unset (always,
outside the tests): a dictionary lookup per call."""
from __future__ import annotations

import os
import signal

_passed = 0


def fault_point(name: str) -> None:
    """Mark a moment at which a crash must leave only complete artefacts behind."""
    global _passed
    spec, log = os.environ.get("EVALKIT_FAULT"), os.environ.get("EVALKIT_FAULT_LOG")
    if not spec and not log:
        return
    _passed += 1
    if log:
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(f"{_passed}\t{name}\n")
    if spec and spec.startswith("kill:") and int(spec[5:]) == _passed:
        os.kill(os.getpid(), signal.SIGKILL)

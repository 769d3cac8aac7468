"""Ctrl-C and SIGTERM end a run with one line: what is saved, and that the same command resumes from it."""
from __future__ import annotations

import contextlib
import signal
import sys


class Interrupted(KeyboardInterrupt):
    """Raised in the main thread by SIGINT or SIGTERM."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise(signum, _frame) -> None:
    raise Interrupted(signum)


@contextlib.contextmanager
def stop_on_signals():
    """SIGINT and SIGTERM raise `Interrupted` for the duration (the previous handlers come back after)."""
    previous = {s: signal.signal(s, _raise) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def saved_line(name: str) -> str:
    """The one line printed on an interrupt (the pair-score cache keeps every finished batch)."""
    from evalkit.rerank.cache import PairCache

    if not PairCache.saved_in_process:
        return (f"evalkit: interrupted ({name}): 0 reranker pair scores of this run were saved (cached document "
                "stores and indexes are kept); the run directory was left as it was; run the same command again")
    return (f"evalkit: interrupted ({name}): {PairCache.saved_in_process} reranker pair scores of this run are "
            f"saved in {PairCache.last_path}; the run directory was left as it was; run the same command again "
            "to resume")


def exit_code(exc: BaseException) -> int:
    return 128 + getattr(exc, "signum", signal.SIGINT)


def report(exc: BaseException) -> None:
    sys.stderr.write(saved_line(getattr(exc, "args", ("SIGINT",))[0] if isinstance(exc, Interrupted) else "SIGINT")
                     + "\n")
    sys.stderr.flush()

"""Progress of a long step: a tqdm bar on a terminal, else a log line every few seconds with rate and ETA.

`EVALKIT_PROGRESS_SECONDS` sets the interval of the log lines (default 15); they go through `logging`, so they
never mix into output files or pipes that carry data.
"""
from __future__ import annotations

import logging
import os
import sys
import time

log = logging.getLogger("evalkit.progress")


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s" if m else f"{s}s"


class Progress:
    """`with Progress(total, "rerank", "pairs") as p: ... p.update(n)`; enabled=False shows nothing."""

    def __init__(self, total: int, desc: str, unit: str = "items", enabled: bool = True,
                 interval: float | None = None, tty: bool | None = None):
        self.total, self.desc, self.unit, self.done = int(total), desc, unit, 0
        self.interval = float(os.environ.get("EVALKIT_PROGRESS_SECONDS", 15)) if interval is None else interval
        self.start = self.last = time.monotonic()
        self.enabled = enabled and self.total > 0
        self.bar = None
        if self.enabled and (sys.stderr.isatty() if tty is None else tty):
            from tqdm.auto import tqdm

            self.bar = tqdm(total=self.total, desc=desc, unit=f" {unit}", file=sys.stderr)

    def line(self, now: float | None = None) -> str:
        elapsed = max((time.monotonic() if now is None else now) - self.start, 1e-9)
        rate = self.done / elapsed
        eta = _duration((self.total - self.done) / rate) if rate > 0 else "?"
        share = 100 * self.done / self.total if self.total else 100.0
        return (f"{self.desc}: {self.done:,}/{self.total:,} {self.unit} ({share:.0f}%), {rate:,.1f} {self.unit}/s, "
                f"elapsed {_duration(elapsed)}, ETA {eta}")

    def update(self, n: int = 1) -> None:
        self.done += n
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.update(n)
            return
        now = time.monotonic()
        if now - self.last >= self.interval:
            self.last = now
            log.info("%s", self.line(now))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        elif self.enabled:
            now = time.monotonic()
            if now - self.start >= self.interval:   # long enough to have logged
                log.info("%s (done)", self.line(now))

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

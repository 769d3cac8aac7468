"""Progress of a long step: a tqdm bar on a terminal, else a log line every few seconds with rate and ETA.

Both are driven by time, not only by updates: a background thread redraws the bar every second and, off a
terminal, logs a line whenever `EVALKIT_PROGRESS_SECONDS` (default 15) have passed without one, so a step whose
updates are far apart (one slow batch) still shows it is alive. Lines go through `logging` and the bar to stderr,
so they never mix into output files or pipes that carry data.
"""
from __future__ import annotations

import logging
import os
import shutil
import sys
import threading
import time

log = logging.getLogger("evalkit.progress")
BAR_REFRESH = 1.0   # seconds between redraws of a terminal bar that gets no update


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s" if m else f"{s}s"


def interval_seconds() -> float:
    """Seconds between log lines: $EVALKIT_PROGRESS_SECONDS, default 15."""
    return float(os.environ.get("EVALKIT_PROGRESS_SECONDS", 15))


class Progress:
    """`with Progress(total, "rerank", "pairs") as p: ... p.update(n)`; enabled=False shows nothing.
    `ticker=False` leaves out the background thread (lines then come only from `update`).

    Items can cost unequal work (the reranker scores its longest pairs first): `expect(n, cost)` declares the cost
    of n coming items once it is known and `update(n, cost)` the cost done; the ETA is then the remaining cost
    (undeclared items at the mean cost so far) over the cost rate, not the remaining items over the item rate."""

    def __init__(self, total: int, desc: str, unit: str = "items", enabled: bool = True,
                 interval: float | None = None, tty: bool | None = None, ticker: bool = True):
        self.total, self.desc, self.unit, self.done = int(total), desc, unit, 0
        self.cost_done = self.cost_expected = 0.0
        self.items_expected = 0
        self.interval = interval_seconds() if interval is None else interval
        self.start = self.last = time.monotonic()
        self.enabled = enabled and self.total > 0
        self.bar = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = None
        if self.enabled and (sys.stderr.isatty() if tty is None else tty):
            from tqdm.auto import tqdm

            # a terminal that reports a 0x0 size (a pty opened without one: `script`, some CI runners) makes tqdm
            # hide the bar; shutil falls back to $COLUMNS/$LINES, then 80x24
            size = shutil.get_terminal_size()
            self.bar = tqdm(total=self.total, desc=desc, unit=f" {unit}", file=sys.stderr,
                            ncols=size.columns, nrows=size.lines,
                            bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}, {rate_fmt}{postfix}]")
            self.bar.set_postfix_str("ETA ?", refresh=False)
        if self.enabled and ticker:
            self._thread = threading.Thread(target=self._tick, name=f"evalkit-progress-{desc}", daemon=True)
            self._thread.start()

    def eta(self, now: float | None = None) -> str:
        elapsed = max((time.monotonic() if now is None else now) - self.start, 1e-9)
        if self.cost_done > 0 and self.items_expected:
            per_item = self.cost_expected / self.items_expected
            left = self.cost_expected - self.cost_done + max(self.total - self.items_expected, 0) * per_item
            return _duration(max(left, 0.0) * elapsed / self.cost_done)
        rate = self.done / elapsed
        return _duration((self.total - self.done) / rate) if rate > 0 else "?"

    def line(self, now: float | None = None) -> str:
        now = time.monotonic() if now is None else now
        elapsed = max(now - self.start, 1e-9)
        rate = self.done / elapsed
        share = 100 * self.done / self.total if self.total else 100.0
        return (f"{self.desc}: {self.done:,.0f}/{self.total:,.0f} {self.unit} ({share:.0f}%), {rate:,.1f} {self.unit}/s, "
                f"elapsed {_duration(elapsed)}, ETA {self.eta(now)}")

    def expect(self, n: int, cost: float) -> None:
        """The next n items (counted by later `update`s) cost `cost` in all."""
        self.items_expected += int(n)
        self.cost_expected += float(cost)

    def update(self, n: int = 1, cost: float = 0.0) -> None:
        self.done += n
        self.cost_done += float(cost)
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.set_postfix_str(f"ETA {self.eta()}", refresh=False)
            self.bar.update(n)
            return
        self._log_if_due()

    def _log_if_due(self) -> None:
        with self._lock:
            now = time.monotonic()
            if now - self.last >= self.interval:
                self.last = now
                log.info("%s", self.line(now))

    def _tick(self) -> None:
        period = BAR_REFRESH if self.bar is not None else max(min(self.interval, BAR_REFRESH), 0.01)
        while not self._stop.wait(period):
            if self.bar is not None:
                self.bar.set_postfix_str(f"ETA {self.eta()}", refresh=False)
                self.bar.refresh()   # elapsed time, rate and ETA move between updates too
            else:
                self._log_if_due()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
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

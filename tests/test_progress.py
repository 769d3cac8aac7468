"""Progress off a terminal: periodic log lines with count, rate and ETA."""
import logging

from evalkit.progress import Progress, _duration


def test_log_lines_when_not_a_terminal(caplog, monkeypatch):
    clock = iter([0.0, 5.0, 10.0, 20.0, 30.0])
    monkeypatch.setattr("evalkit.progress.time.monotonic", lambda: next(clock))
    with caplog.at_level(logging.INFO, logger="evalkit.progress"):
        with Progress(100, "rerank", "pairs", interval=8, tty=False, ticker=False) as bar:
            bar.update(10)     # t=5: too early for a line
            bar.update(20)     # t=10: 30 done in 10 s -> 3/s, 70 left -> ETA 23 s
            bar.update(30)     # t=20: 60 done in 20 s
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0] == "rerank: 30/100 pairs (30%), 3.0 pairs/s, elapsed 10s, ETA 23s"
    assert lines[1] == "rerank: 60/100 pairs (60%), 3.0 pairs/s, elapsed 20s, ETA 13s"
    assert lines[-1].endswith("(done)") and len(lines) == 3


def test_disabled_and_durations(caplog):
    with caplog.at_level(logging.INFO, logger="evalkit.progress"):
        with Progress(10, "x", enabled=False, interval=0, tty=False) as bar:
            bar.update(10)
    assert caplog.records == []
    assert (_duration(59), _duration(61), _duration(3725)) == ("59s", "1m01s", "1h02m05s")

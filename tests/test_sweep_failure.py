"""A --multirun sweep with a failing job is marked unfinished (FAILED.txt naming the job) and says where in one
stderr line; a new attempt at the same directory that succeeds leaves it unmarked, with its comparison report."""
from __future__ import annotations

from cli_runner import evalkit
from evalkit.report.sweep_failure import HEADER, NAME, reason


def test_a_failed_job_marks_the_sweep_and_a_good_rerun_clears_it(tmp_path):
    sweep, env = tmp_path / "sweep", {"EVALKIT_CACHE": tmp_path / "cache"}
    # depth=-3 passes the launch (--multirun skips the preflight) and fails in its job's own check
    done = evalkit("--multirun", "reranker=none", "candidates.depth=10,-3", f"hydra.sweep.dir={sweep}", env=env,
                   timeout=600)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-3000:]
    error, where = done.stderr.strip().splitlines()[-2:]
    assert error == "evalkit: error: candidates.depth=-3: must be an integer >= 1"
    assert where == f"evalkit: sweep job 1 failed: the sweep is marked unfinished in {sweep / NAME}"
    text = (sweep / NAME).read_text(encoding="utf-8")
    assert text == HEADER + (f"job 1 (reranker=none candidates.depth=-3): candidates.depth=-3: must be an integer "
                             f">= 1 (exit 2); its directory: {sweep / '1-bm25-none'}\n")
    assert (sweep / "0-bm25-none" / "report.md").is_file()              # the finished job is kept, whole
    assert not (sweep / "1-bm25-none" / "report.md").exists() and not (sweep / "compare.md").exists()

    compared = evalkit("compare", sweep, "--out", tmp_path / "cmp", env=env, timeout=600)
    assert f"{sweep}: unfinished sweep (see {sweep / NAME}); comparing its 1 finished runs" in compared.stderr

    # first-stage parameters may differ within one comparison (the depth may not: tests/test_compare_trust.py)
    done = evalkit("--multirun", "reranker=none", "candidates.depth=10", "candidates.bm25.k1=0.9,1.2",
                   f"hydra.sweep.dir={sweep}", env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert not (sweep / NAME).exists() and (sweep / "compare.md").is_file()
    assert (sweep / "1-bm25-none" / "report.md").is_file()


def test_the_reason_is_the_jobs_own_line():
    try:
        try:
            raise ValueError("candidates.depth=-3: must be an integer >= 1\nsecond line")
        except ValueError as exc:
            raise SystemExit(2) from exc
    except SystemExit as stop:
        assert reason(stop) == "candidates.depth=-3: must be an integer >= 1 (exit 2)"
    assert reason(RuntimeError("CUDA out of memory\n  details")) == "RuntimeError: CUDA out of memory"
    assert reason(SystemExit(130)) == "stopped (exit 130)"

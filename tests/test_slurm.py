"""hydra/launcher=slurm_cpu on a live one-node SLURM cluster (scripts/slurm_local.sh: munged, slurmdbd, slurmctld,
slurmd): a 4-shard sweep merged with `evalkit merge` gives the local run's bytes; a shard job cancelled mid-run and
resubmitted rescores no pair; a failed job is one line naming its shard and SLURM log; a job signalled as
preempted is requeued and resumes from the pair cache.

Without a cluster these tests skip with the reason; `.ci/run` starts one and sets EVALKIT_REQUIRE_SLURM=1, which
turns the skip into a failure (as EVALKIT_REQUIRE_LUCENE does for the Lucene tests).
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from cli_runner import REPO, evalkit, evalkit_popen, finish
from evalkit.errors import EvalkitError
from evalkit.executors.merge import merge_shards
from measured import stable_bytes

SAME = ["config.yaml", "metrics.json", "per_query.parquet", "report.md", "runs/first_stage.es.trec",
        "runs/first_stage.de.trec", "runs/reranked.es.trec", "runs/reranked.de.trec"]
SHARDS = [f"{i}/4" for i in range(4)]


def cluster_problem() -> str | None:
    if importlib.util.find_spec("hydra_plugins.hydra_submitit_launcher") is None:
        return 'hydra-submitit-launcher is not installed (pip install -e ".[slurm]")'
    if shutil.which("sbatch") is None:
        return "no SLURM client (sbatch); bash scripts/slurm_local.sh start installs and starts a local cluster"
    status = subprocess.run(["bash", str(REPO / "scripts" / "slurm_local.sh"), "status"], capture_output=True,
                            text=True, timeout=60)
    if status.returncode:
        return f"{status.stdout.strip() or status.stderr.strip()}: run bash scripts/slurm_local.sh start"
    return None


@pytest.fixture(scope="module")
def cluster():
    problem = cluster_problem()
    if problem:
        (pytest.fail if os.environ.get("EVALKIT_REQUIRE_SLURM") == "1" else pytest.skip)(f"SLURM: {problem}")


def config(model: Path) -> list[str]:
    # batch_tokens=1: a pair's score cannot depend on which pairs share its batch (shards batch differently)
    return ["reranker=gte", f"reranker.model={model}", "reranker.batch_tokens=1", "benchmark.languages=[es,de]",
            "candidates.depth=10"]


def sweep_command(model: Path, sweep: Path, shards: list[str], *extra: str) -> list[str]:
    return ["--multirun", "hydra/launcher=slurm_cpu", f"run.shard={','.join(shards)}", *config(model), *extra,
            f"hydra.sweep.dir={sweep}"]


def sacct(job: str) -> list[list[str]]:
    """sacct rows [JobID, State] of `job` and its array tasks, every attempt (-D: requeued ones too); "CANCELLED by 0"
    reads CANCELLED."""
    out = subprocess.run(["sacct", "-n", "-P", "-D", "-X", "-j", job, "-o", "JobID,State"], capture_output=True,
                         text=True, check=True).stdout
    return [[job_id, state.split()[0]] for job_id, state in (line.split("|") for line in out.splitlines() if line)]


def settled(job: str, timeout: float = 120) -> list[list[str]]:
    """sacct(job) once no task or attempt is pending, running or completing (submitit's result file, which the
    sweep waits for, comes before the job's end)."""
    deadline, rows = time.monotonic() + timeout, sacct(job)
    while not rows or any(state in ("PENDING", "RUNNING", "COMPLETING") for _, state in rows):
        assert time.monotonic() < deadline, rows
        time.sleep(0.5)
        rows = sacct(job)
    return rows


def shard_dirs(sweep: Path) -> list[Path]:
    return sorted(p for p in sweep.iterdir() if (p / "shard.json").is_file())


def cache_rows(cache: Path) -> int:
    path = cache / "pair_scores.sqlite"
    if not path.is_file():
        return 0
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
            return db.execute("SELECT COUNT(*) FROM scores").fetchone()[0]
    except sqlite3.OperationalError:   # the table is not there yet
        return 0


def running_job(sweep: Path, timeout: float = 300) -> str:
    """The id of the sweep's one job once SLURM runs it (its submitit folder is named after it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        folders = sorted((sweep / ".submitit").glob("*")) if (sweep / ".submitit").is_dir() else []
        for job in [p.name for p in folders if p.is_dir()]:
            if any(state == "RUNNING" for _, state in sacct(job)):
                return job
        time.sleep(0.5)
    raise AssertionError(f"no job of {sweep} ran within {timeout} s")


def wait_for_rows(cache: Path, at_least: int, proc: subprocess.Popen, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while cache_rows(cache) < at_least:
        assert proc.poll() is None, "the sweep ended before its job had scored a pair"
        assert time.monotonic() < deadline, f"the pair cache did not reach {at_least} rows"
        time.sleep(0.2)


def stats(run_dir: Path) -> dict:
    return json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))["environment"]["reranker_stats"]


def differing(a: Path, b: Path) -> list[str]:
    return [name for name in SAME if stable_bytes(a / name) != stable_bytes(b / name)]


@pytest.fixture(scope="module")
def sharded(cluster, tiny_gte, tmp_path_factory) -> dict:
    """The local unsharded run (its own cache) beside the 4-shard SLURM sweep (one shared cache), then the merge."""
    root = tmp_path_factory.mktemp("slurm")
    local = evalkit_popen(*config(tiny_gte), f"hydra.run.dir={root / 'local'}", cwd=root,
                          env={"EVALKIT_CACHE": root / "local-cache"})
    start = time.monotonic()
    swept = evalkit(*sweep_command(tiny_gte, root / "sweep", SHARDS), cwd=root, env={"EVALKIT_CACHE": root / "cache"},
                    timeout=900)
    wall = time.monotonic() - start
    assert swept.returncode == 0, swept.stderr[-3000:]
    done = finish(local, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    merged = evalkit("merge", *shard_dirs(root / "sweep"), "--out", root / "merged", cwd=root, timeout=300)
    assert merged.returncode == 0, merged.stderr[-3000:]
    return {"root": root, "wall": wall}


@pytest.mark.slow
def test_four_shard_slurm_sweep_merges_into_the_local_runs_bytes(sharded, tmp_path):
    root = sharded["root"]
    assert differing(root / "merged", root / "local") == []
    shards = shard_dirs(root / "sweep")
    assert [json.loads((d / "shard.json").read_text())["shard"] for d in shards] == SHARDS
    # one job array of four tasks, each finished, each with its own log under the sweep directory
    arrays = {p.name.split("_")[0] for p in (root / "sweep" / ".submitit").iterdir()
              if re.fullmatch(r"\d+_\d+", p.name)}
    assert len(arrays) == 1
    (array,) = arrays
    assert sorted(settled(array)) == [[f"{array}_{i}", "COMPLETED"] for i in range(4)]
    for i, shard in enumerate(SHARDS):   # task i ran shard i: its log names the run dir it published
        log = root / "sweep" / ".submitit" / f"{array}_{i}" / f"{array}_{i}_0_log.err"
        (report,) = [line.split("report: ")[1] for line in log.read_text().splitlines()
                     if "][evalkit][INFO] - report: " in line]
        assert json.loads((Path(report).parent / "shard.json").read_text())["shard"] == shard
    # the comparison fails if a shard's output is dropped or altered (the seeded mistakes below)
    with pytest.raises(EvalkitError, match=r"^missing shard\(s\) 2/4 of 4$"):
        merge_shards([d for d in shards if not d.name.startswith("2-")], tmp_path / "three")
    for mistake in ("drop", "alter"):
        copies = [shutil.copytree(d, tmp_path / mistake / d.name) for d in shards]
        run = copies[2] / "runs" / "reranked.es.trec"
        lines = run.read_text().splitlines(keepends=True)
        if mistake == "drop":    # one query's reranked lines gone
            lines = [line for line in lines if line.split()[0] != lines[0].split()[0]]
        else:                    # one score changed in its last digit
            qid, q0, doc, rank, score, tag = lines[0].split()
            lines[0] = f"{qid} {q0} {doc} {rank} {score[:-1]}{(int(score[-1]) + 1) % 10} {tag}\n"
        run.write_text("".join(lines))
        merge_shards(copies, tmp_path / f"{mistake}-merged")
        assert differing(tmp_path / f"{mistake}-merged", root / "local") == ["runs/reranked.es.trec"], mistake


@pytest.mark.slow
def test_a_cancelled_shard_job_resubmitted_rescores_no_pair(sharded, tiny_gte, tmp_path):
    sweep, cache = tmp_path / "sweep", tmp_path / "cache"
    command = sweep_command(tiny_gte, sweep, ["1/4"])
    proc = evalkit_popen(*command, cwd=tmp_path, env={"EVALKIT_CACHE": cache})
    job = running_job(sweep)
    wait_for_rows(cache, 20, proc)
    subprocess.run(["scancel", job], check=True)
    done = finish(proc, timeout=600)
    assert done.returncode == 1, done.stderr[-3000:]
    assert settled(job) == [[job, "CANCELLED"]]
    saved = cache_rows(cache)                               # every pair the cancelled job scored
    assert saved >= 20
    # one line: the shard, the job's own interrupt line (its count of saved scores is the cache's), the log
    log = sweep / ".submitit" / job / f"{job}_0_log.err"
    line = done.stderr.strip().splitlines()[-1]
    assert line.startswith(f"evalkit: error: SLURM job {job} (run.shard=1/4 {' '.join(config(tiny_gte))}) failed: "
                           f"interrupted (SIGTERM): {saved} reranker pair scores of this run are saved in "
                           f"{cache / 'pair_scores.sqlite'};"), line
    assert line.endswith(f"; its log: {log}") and log.is_file()

    again = evalkit(*command, cwd=tmp_path, env={"EVALKIT_CACHE": cache}, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    (resumed,) = shard_dirs(sweep)
    counts = stats(resumed)
    pairs = sum(len(p.read_text().splitlines()) for p in (resumed / "runs").glob("reranked.*.trec"))
    assert counts["cache_hits"] == saved and counts["scored"] == pairs - saved > 0   # nothing scored twice
    assert cache_rows(cache) == pairs
    original = next(d for d in shard_dirs(sharded["root"] / "sweep") if d.name.startswith("1-"))
    assert differing(resumed, original) == []


@pytest.mark.slow
def test_a_failed_shard_job_is_one_line_naming_the_shard_and_its_log(cluster, tmp_path):
    sweep = tmp_path / "sweep"
    done = evalkit(*sweep_command(tmp_path / "no-model", sweep, ["2/4"]), cwd=tmp_path, timeout=600)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr[-3000:]
    (job,) = [p.name for p in (sweep / ".submitit").iterdir() if p.is_dir()]
    log = sweep / ".submitit" / job / f"{job}_0_log.err"
    reason = f"reranker.model='{tmp_path / 'no-model'}': no such model directory"
    line = done.stderr.strip().splitlines()[-1]
    assert line.startswith(f"evalkit: error: SLURM job {job} (run.shard=2/4 reranker=gte ") and reason in line
    assert line.endswith(f"; its log: {log}") and reason in log.read_text()
    assert settled(job) == [[job, "FAILED"]]


@pytest.mark.slow
def test_a_preempted_shard_job_is_requeued_and_resumes_from_the_pair_cache(sharded, tiny_gte, tmp_path):
    sweep, cache = tmp_path / "sweep", tmp_path / "cache"
    proc = evalkit_popen(*sweep_command(tiny_gte, sweep, ["3/4"]), cwd=tmp_path, env={"EVALKIT_CACHE": cache})
    job = running_job(sweep)
    wait_for_rows(cache, 20, proc)
    # the signal SLURM sends before a time limit (--signal=USR2@signal_delay_s) and, with
    # PreemptParameters=send_user_signal, at preemption: submitit checkpoints the call and requeues the job
    subprocess.run(["scancel", "--signal=USR2", job], check=True)
    # SLURM holds a requeued job for about two minutes (BeginTime) before it may start again; the test lifts it
    deadline = time.monotonic() + 120
    while "Restarts=1" not in (info := subprocess.run(["scontrol", "show", "job", job], capture_output=True,
                                                      text=True).stdout) or "JobState=PENDING" not in info:
        assert time.monotonic() < deadline and proc.poll() is None, info
        time.sleep(0.5)
    subprocess.run(["scontrol", "update", f"jobid={job}", "starttime=now"], check=True)
    done = finish(proc, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert settled(job) == [[job, "REQUEUED"], [job, "COMPLETED"]]
    # (not the job's log: SLURM reopens it for the requeued attempt, so the first attempt's lines may be gone)
    (resumed,) = shard_dirs(sweep)
    counts = stats(resumed)
    pairs = sum(len(p.read_text().splitlines()) for p in (resumed / "runs").glob("reranked.*.trec"))
    assert counts["cache_hits"] >= 20 and counts["cache_hits"] + counts["scored"] == pairs == cache_rows(cache)
    assert not (sweep / "FAILED.txt").exists()             # the requeued attempt's mark went when it finished
    original = next(d for d in shard_dirs(sharded["root"] / "sweep") if d.name.startswith("3-"))
    assert differing(resumed, original) == []


def test_only_submitit_sweeps_turn_a_failed_job_into_one_line():
    from evalkit.app.slurm_jobs import failure_line, submitit_launcher

    for launcher in ("slurm_cpu", "slurm_gpu", "submitit_local"):   # the YAMLs' plugin, or a plugin by name
        assert submitit_launcher(["--multirun", f"hydra/launcher={launcher}"])
    assert not submitit_launcher(["--multirun", "hydra/launcher=joblib_local"])
    assert not submitit_launcher(["reranker=none"])
    # another error that happens to quote submitit's wording is not a job failure: Hydra reports it as before
    assert failure_line(RuntimeError("Job 3 (task: 0) with path /x/3_0_result.pkl")) is None

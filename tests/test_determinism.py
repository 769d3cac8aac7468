"""Same config + same inputs => byte-identical run files, metrics.json and per_query.parquet, through the CLI.

Each pair of runs uses separate caches (document stores, BM25 indexes, pair scores), so the second run recomputes
everything instead of reading the first one's results; the pairs run concurrently to keep the test short.
"""
from __future__ import annotations

from pathlib import Path

from cli_runner import STDOUT, evalkit_popen
from conftest import MINI, write_miracl_layout
from measured import stable_bytes

OUTPUTS = ["metrics.json", "per_query.parquet"]


def run_twice(tmp: Path, *overrides: str) -> list[Path]:
    data = write_miracl_layout(tmp / "mini", MINI)
    procs, outs = [], []
    for i in range(2):
        out, cache = tmp / f"run{i}", tmp / f"cache{i}"
        args = ["benchmark=sample", f"benchmark.source={data}", "candidates=bm25", "metrics.oracle=true",
                f"hydra.run.dir={out}", *[o.format(cache=cache) for o in overrides]]
        procs.append(evalkit_popen(*args, env={"EVALKIT_CACHE": cache}, stderr=STDOUT))
        outs.append(out)
    for proc in procs:
        log = proc.communicate(timeout=600)[0]
        assert proc.returncode == 0, log[-3000:]
    return outs


def assert_identical(a: Path, b: Path, stages: list[str]) -> None:
    runs = sorted(p.name for p in (a / "runs").iterdir())
    assert {name.split(".")[0] for name in runs} == set(stages)
    assert runs == sorted(p.name for p in (b / "runs").iterdir())
    for name in [f"runs/{r}" for r in runs] + OUTPUTS:
        assert stable_bytes(a / name) == stable_bytes(b / name), name   # timings are measurements


def test_first_stage_only_runs_are_byte_identical(tmp_path):
    a, b = run_twice(tmp_path, "reranker=none")
    assert_identical(a, b, ["first_stage"])


def test_tiny_gte_runs_are_byte_identical(tmp_path, tiny_gte):
    a, b = run_twice(tmp_path, "reranker=gte", f"reranker.model={tiny_gte}", "reranker.cache_path={cache}/pairs.sqlite")
    assert_identical(a, b, ["first_stage", "reranked"])
    assert (a / "runs" / "reranked.en.trec").read_text() != (a / "runs" / "first_stage.en.trec").read_text()

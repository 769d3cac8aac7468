"""Helpers for tests/test_faults.py: pipeline runs in child processes (forked from a preloaded fork server, so a
run costs no interpreter start-up), their outputs, and the cache artefacts they leave."""
from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
import resource
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUTPUTS = ("metrics.json", "per_query.parquet")
_ctx = None


def context():
    """A forkserver context whose server has imported the pipeline (torch, transformers, ranx, hydra)."""
    global _ctx
    if _ctx is None:
        _ctx = multiprocessing.get_context("forkserver")
        _ctx.set_forkserver_preload(["faultkit", "evalkit.cli", "evalkit.pipeline", "evalkit.rerank.engine",
                                     "evalkit.models.loading", "evalkit.candidates.dense", "evalkit.candidates.bm25",
                                     "evalkit.candidates.hybrid", "evalkit.candidates.embeddings", "hydra"])
    return _ctx


def _job(overrides: list[str], out_dir: str, env: dict[str, str], fsize: int | None, log_file: str) -> None:
    os.environ.update(env)
    where = {"filename": log_file} if fsize is None else {}     # with a size limit the log goes to stderr
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s", force=True, **where)
    from hydra import compose, initialize_config_dir

    from evalkit.cli import CONFIG_DIR
    from evalkit.app.schema import register
    from evalkit.errors import EvalkitError
    from evalkit.pipeline import run

    register()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(config_name="config", overrides=overrides)
    if fsize is not None:           # "disk full": no file of this process may grow beyond `fsize` bytes
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))   # soft only:
        # raising a hard limit back needs a privilege a sandbox may not grant
    try:
        run(cfg, Path(out_dir))
    except (EvalkitError, OSError) as exc:    # as evalkit.cli: bad input or a failed write is one line, exit 2
        from evalkit.storage.atomic import is_write_failure

        if not isinstance(exc, EvalkitError) and not is_write_failure(exc):
            raise
        hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
        resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))
        message = exc if isinstance(exc, EvalkitError) else f"could not write: {exc}"
        Path(f"{log_file}.error").write_text(f"{message}\n")
        os._exit(2)
    os._exit(0)


def run_job(overrides: list[str], out: Path, cache: Path, fault: str | None = None, fault_log: Path | None = None,
            fsize: int | None = None, timeout: float = 1800) -> tuple[int, str, str]:
    """(exit code, warning log, error line) of one pipeline run in a child process; SIGKILL gives -9."""
    env = {"EVALKIT_CACHE": str(cache), "HF_HUB_OFFLINE": "1", "EVALKIT_FAULT": fault or "",
           "EVALKIT_FAULT_LOG": str(fault_log or "")}
    out.mkdir(parents=True, exist_ok=True)
    log = out.parent / f"{out.name}.log"
    Path(f"{log}.error").unlink(missing_ok=True)
    log.write_text("")
    proc = context().Process(target=_job, args=(overrides, str(out), env, fsize, str(log)))
    proc.start()
    proc.join(timeout)
    if proc.exitcode is None:
        proc.kill()
        raise AssertionError(f"pipeline run did not finish in {timeout} s")
    error = Path(f"{log}.error")
    return proc.exitcode, log.read_text(), error.read_text() if error.exists() else ""


def outputs(out: Path) -> dict[str, str]:
    """What a run delivers: metrics.json, per_query.parquet and every run file, as sha256 digests of their bytes
    (an assertion then names the files that differ, instead of diffing megabytes)."""
    files = [out / name for name in OUTPUTS] + sorted((out / "runs").glob("*.trec"))
    from measured import stable_bytes   # less the measured efficiency figures

    return {str(p.relative_to(out)): hashlib.sha256(stable_bytes(p)).hexdigest() for p in files}


def artefact_problems(cache: Path) -> list[str]:
    """Every published cache artefact under `cache` re-verified: (path, why) of each that fails."""
    from evalkit.candidates.embeddings import shard_problem
    from evalkit.storage.artefact import MANIFEST, _verified, verify_artefact

    _verified.clear()
    problems = []
    for manifest in sorted(cache.rglob(MANIFEST)):
        info = json.loads(manifest.read_text())
        found, why = verify_artefact(manifest.parent, info["kind"], info["builder_version"])
        if found is None:
            problems.append(f"{manifest.parent}: {why}")
    for emb in sorted(cache.glob("embeddings/*/manifest.json")):
        for k in range(json.loads(emb.read_text())["shards"]):
            why = shard_problem(emb.parent, k)
            if why:
                problems.append(f"{emb.parent} shard {k}: {why}")
    return problems

"""Wires the stages: benchmark -> candidates -> rerank -> evaluate -> outputs. No stage logic here."""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import DictConfig, OmegaConf

from evalkit.contracts import Benchmark, CompactRun, Run
from evalkit.data import load_benchmark
from evalkit.candidates import first_stage
from evalkit.executors import Executor
from evalkit.rerank import RERANKERS
from evalkit.data.trec import write_run
from evalkit.errors import EvalkitError
from evalkit.data.validate import check_run_docids
from evalkit.metrics.aggregate import summary
from evalkit.metrics.buckets import query_buckets
from evalkit.metrics.evaluate import POLICY, evaluate_runs, excluded_line, excluded_queries
from evalkit.metrics.measures import canonical, parse
from evalkit.data.tokenizer import load_length_tokenizer
from evalkit.gate.provenance import manifest
from evalkit.executors.shard import parse_shard, select_shard, write_shard_info
from evalkit.report.formats import check_formats, write_frame, write_reports
from evalkit.storage import atomic_write_text

log = logging.getLogger(__name__)
FIRST, RERANKED, CEILING = "first_stage", "reranked", "ceiling"


@dataclass
class RunResult:
    out_dir: Path
    table: pd.DataFrame                       # tidy per-query table
    metrics: dict                             # what metrics.json holds
    timings: dict[str, float] = field(default_factory=dict)


def oracle_run(benchmark: Benchmark, runs: dict[str, CompactRun]) -> dict[str, CompactRun]:
    """The candidates ordered by their grades: what a perfect reranker reaches on this first stage."""
    out = {}
    for lang, run in runs.items():
        qrels = benchmark.qrels.get(lang, {})
        grades = (float(qrels.get(qid, {}).get(d, 0)) for qid in run for d in run.docids_of(qid))
        out[lang] = run.with_scores(np.fromiter(grades, np.float64, run.n_pairs))
    return out


def rerank(benchmark: Benchmark, runs: dict[str, CompactRun], scorer,
           chunk_details: dict | None = None) -> dict[str, CompactRun]:
    """Rescore every candidate, streamed window by window (evalkit.rerank.stream): memory does not grow with the run.
    A reranker that reads long documents in chunks fills `chunk_details` (per language: chunks, best chunk, span)."""
    from evalkit.rerank.stream import rerank_runs

    return rerank_runs(benchmark, runs, scorer, chunk_details)


def run(cfg: DictConfig, out_dir: Path) -> RunResult:
    out_dir = Path(out_dir)
    check_formats(list(cfg.report.formats))   # fail before any work on a bad report.formats
    if cfg.run.shard:
        parse_shard(cfg.run.shard)                # ... or a bad run.shard
    (out_dir / "runs").mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    benchmark = load_benchmark(cfg.benchmark, subset_reader(cfg.benchmark))
    if benchmark.answers is not None:  # fail before any work when an answer-match benchmark has qrel metrics
        from evalkit.metrics.answers import check_answer_measures

        check_answer_measures(list(cfg.metrics.measures), cfg.metrics.no_relevant)
    if not measures(benchmark, cfg):   # an answer-match benchmark adds no recall@depth: nothing would be reported
        raise EvalkitError(f"metrics.measures: every measure ({', '.join(not_reported(cfg))}) is cut deeper than "
                           f"candidates.depth={cfg.candidates.depth}: raise the depth or name shallower measures")
    benchmark.protocol["doc_sep"] = cfg.benchmark.doc_sep
    timings["benchmark"] = time.perf_counter() - clock

    executor = Executor(cfg.executor)   # executor=local | ray: where models run
    clock = time.perf_counter()         # the reranker loads before the first stage: a missing model fails first
    scorer = RERANKERS[cfg.reranker.backend].build(cfg.reranker, executor)   # None: reranker=none
    if scorer is not None:
        timings["load_reranker"] = time.perf_counter() - clock

    clock = time.perf_counter()
    candidates, shard = candidates_for(benchmark, cfg, executor)
    timings["candidates"] = time.perf_counter() - clock
    _write_runs(out_dir, FIRST, candidates, benchmark, cfg.candidates.name)

    systems = {FIRST: candidates, CEILING: oracle_run(benchmark, candidates)}
    if scorer is not None:
        clock = time.perf_counter()
        chunk_details: dict = {}
        systems[RERANKED] = rerank(benchmark, candidates, scorer, chunk_details)
        timings["rerank"] = time.perf_counter() - clock
        _write_runs(out_dir, RERANKED, systems[RERANKED], benchmark, cfg.reranker.name)
        if chunk_details:
            from evalkit.rerank.chunk_report import write_chunk_details

            write_chunk_details(out_dir / "runs", RERANKED, candidates, chunk_details)
        for name, view in getattr(scorer, "variants", list)():   # a layer-wise model's other cutoff layers
            systems[f"{RERANKED}@{name}"] = rerank(benchmark, candidates, view)   # (read from the pair cache)
            _write_runs(out_dir, f"{RERANKED}@{name}", systems[f"{RERANKED}@{name}"], benchmark,
                        f"{cfg.reranker.name}@{name}")

    clock = time.perf_counter()
    table = evaluate_all(benchmark, systems, cfg)
    if cfg.metrics.oracle:  # every value recomputed with pytrec_eval; a difference > 1e-9 is an error
        from evalkit.metrics.oracle import check_table

        check_table(table, benchmark.qrels, systems, benchmark.queries, cfg.metrics.no_relevant)
    excluded = excluded_queries(benchmark.qrels, benchmark.queries, cfg.metrics.no_relevant)
    metrics = {"systems": summary(table), "protocol": {**protocol(benchmark, cfg, scorer),
                                                       "excluded_queries": excluded_line(excluded)},
               "excluded_queries": excluded, "not_reported": not_reported(cfg)}
    if metrics["not_reported"]:
        metrics["protocol"]["not_reported"] = (f"{', '.join(metrics['not_reported'])} "
                                               f"(cut deeper than candidates.depth={cfg.candidates.depth})")
    if scorer is not None:   # ties in the reranked scores that move a metric; an endpoint's cost and latency
        from evalkit.metrics.ties import tie_effects

        metrics |= tie_effects(benchmark, systems[RERANKED], measures(benchmark, cfg), cfg.metrics.no_relevant)
        metrics["efficiency"] = efficiency_of(benchmark, candidates, scorer, timings["rerank"])
        if chunk_details:
            from evalkit.rerank.chunk_report import chunk_summary

            metrics["long_docs"] = chunk_summary(scorer.settings, chunk_details, scorer.stats)
        if hasattr(scorer, "report"):
            metrics["reranker_api"] = scorer.report()
            if cfg.reranker.api.probe_file:   # `evalkit probe` output, shown next to the length buckets
                from evalkit.rerank.api.probe import load_probe

                metrics["truncation_probe"] = load_probe(cfg.reranker.api.probe_file)
    timings["evaluate"] = time.perf_counter() - clock

    write_frame(table, out_dir / "per_query.parquet")      # every output published atomically (temp + rename)
    atomic_write_text(out_dir / "metrics.json", json.dumps(metrics, indent=2, ensure_ascii=False) + "\n")
    atomic_write_text(out_dir / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
    write_reports(out_dir, table, metrics, cfg)   # report.md + report.formats
    atomic_write_text(out_dir / "manifest.json",
                      json.dumps(manifest(cfg, benchmark, scorer, timings), indent=2, ensure_ascii=False) + "\n")
    if shard is not None:
        write_shard_info(out_dir, shard, benchmark)
    log.debug("wrote %s", out_dir)
    return RunResult(out_dir, table, metrics, timings)


def efficiency_of(benchmark: Benchmark, runs: dict[str, CompactRun], scorer, seconds: float) -> dict:
    """metrics.json's `efficiency` (evalkit.metrics.efficiency): rates of the rerank stage, latency probe."""
    from evalkit.metrics.efficiency import efficiency
    from evalkit.rerank.stream import candidate_chunks, chunking

    queries = sum(len(run.qids) for run in runs.values())
    pairs = sum(run.n_pairs for run in runs.values())
    chunked = chunking(scorer)
    titled = chunked is not None and chunked.chunk_title
    return efficiency(scorer, seconds, queries, candidate_chunks(benchmark, runs, titled), pairs=pairs)


def subset_reader(bcfg: DictConfig):
    """`benchmark.subset=NAME`: the frozen CI subset's reader (its own queries, qrels and pool texts), else None."""
    if not bcfg.subset:
        return None
    from evalkit.gate.subset import load_subset

    return load_subset


def candidates_for(benchmark: Benchmark, cfg: DictConfig, executor=None) -> tuple[dict[str, Run], dict | None]:
    """First-stage runs per language, after the protocol's restrictions (subset pools, judged pool, shard)."""
    if cfg.benchmark.subset:  # a frozen CI subset carries its first-stage pools (no corpus index needed)
        from evalkit.gate.subset import subset_pools

        candidates = subset_pools(cfg.benchmark, cfg.candidates, benchmark)
    else:
        candidates = first_stage(benchmark, cfg.candidates, executor or Executor(cfg.executor))
    if benchmark.protocol.get("ignore_identical_ids"):   # BEIR's ArguAna, Quora: a query's own id is no candidate
        from evalkit.data.beir import drop_identical_ids

        candidates = drop_identical_ids(candidates, benchmark.protocol["ignore_identical_ids"])
    if cfg.benchmark.pool == "judged":  # each query keeps exactly its judged passages (marked in every report)
        from evalkit.data.pool import restrict_to_judged

        candidates = restrict_to_judged(benchmark, candidates)
    if cfg.candidates.name == "runfile":   # docids from outside: those absent from the corpus are an error (or =warn)
        check_run_docids(benchmark, candidates, cfg.benchmark.missing_docs)
    # run.shard=i/n: keep this shard's queries (after the first stage, so run files of all queries load);
    # `evalkit merge` joins the shards' run dirs into the unsharded one
    shard = select_shard(benchmark, candidates, cfg.run.shard) if cfg.run.shard else None
    if benchmark.answers is not None:  # answer-match benchmarks (MKQA): judge every candidate by has_answer
        from evalkit.metrics.answers import answer_qrels

        benchmark.qrels = answer_qrels(benchmark, {FIRST: candidates})
    return {lang: CompactRun.of(run) for lang, run in candidates.items()}, shard   # kept as arrays from here on


def measures(benchmark: Benchmark, cfg: DictConfig) -> list[str]:
    """The configured measures (canonical names) plus recall at the rerank depth: the share of relevant documents a
    reranker is given, which bounds the `ceiling` system (qrels benchmarks; answer-match ones name their own
    measures). A measure cut deeper than the depth is left out (see `not_reported`)."""
    chosen = [m for m in dict.fromkeys(canonical(m) for m in cfg.metrics.measures) if m not in not_reported(cfg)]
    depth_recall = f"recall@{cfg.candidates.depth}"
    if benchmark.answers is None and depth_recall not in chosen:
        chosen.append(depth_recall)
    return chosen


def not_reported(cfg: DictConfig) -> list[str]:
    """Configured measures cut deeper than candidates.depth: on such a run recall@100 would be recall@depth under
    another name, so it is not reported (and a comparison with a deeper run is refused)."""
    depth = cfg.candidates.depth
    return [m for m in dict.fromkeys(canonical(m) for m in cfg.metrics.measures) if (parse(m).k or 0) > depth]


def evaluate_all(benchmark: Benchmark, systems: dict[str, dict[str, Run]], cfg: DictConfig) -> pd.DataFrame:
    tokenizer = load_length_tokenizer(cfg.metrics.bucket_tokenizer)
    buckets = query_buckets(benchmark, tokenizer, list(cfg.metrics.bucket_edges), cfg.benchmark.doc_sep)
    frames = []
    for system, runs in systems.items():
        frame = evaluate_runs(benchmark.qrels, runs, measures(benchmark, cfg), benchmark.queries,
                              cfg.metrics.no_relevant)
        frame.insert(0, "system", system)
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True)
    table.insert(3, "bucket", [buckets[(lang, qid)] for lang, qid in zip(table["lang"], table["qid"])])
    return table


def protocol(benchmark: Benchmark, cfg: DictConfig, scorer) -> dict:
    """Everything a reader needs to judge whether two numbers are comparable."""
    info = getattr(scorer, "info", {}) if scorer else {}
    settings = getattr(scorer, "settings", None)
    return {
        "benchmark": cfg.benchmark.name, **{k: v for k, v in benchmark.protocol.items()},
        "languages": benchmark.languages,
        "candidates": cfg.candidates.name, "depth": cfg.candidates.depth,
        "reranker": cfg.reranker.name, "reranker_model": info.get("model", cfg.reranker.model),
        "max_length": getattr(settings, "max_length", None), "query_budget": getattr(settings, "query_budget", None),
        "dtype": getattr(settings, "dtype", None), "attention": info.get("attn_implementation"),
        "long_docs": long_docs_line(settings),
        **prompt_fields(scorer),
        "measures": measures(benchmark, cfg), "no_relevant": cfg.metrics.no_relevant,
        "bucket_tokenizer": cfg.metrics.bucket_tokenizer, "bucket_edges": list(cfg.metrics.bucket_edges),
        **POLICY,
    }


def long_docs_line(settings) -> str | None:
    """How the reranker reads a document longer than max_length, in words (None without a local model)."""
    if getattr(settings, "max_length", None) is None or not hasattr(settings, "long_docs"):
        return None
    c = settings.chunking
    if c is None:
        return "truncate"
    size = f"{c.chunk_tokens}-token chunks" if c.chunk_tokens else "chunks filling max_length"
    stride = f"stride {c.chunk_stride}" if c.chunk_stride else "no overlap"
    return f"{c.strategy}: {size}, {stride}, title {'in every chunk' if c.chunk_title else 'in the first'}"


def prompt_fields(scorer) -> dict:
    """A decoder reranker's prompt in the protocol: what its numbers depend on beside the weights."""
    prompt = getattr(scorer, "prompt", None)
    if prompt is None:
        return {}
    tokens = getattr(scorer, "provenance", {}).get("prompt", {}).get("layout_tokens")
    return {"prompt_query": prompt.query_template, "prompt_doc": prompt.doc_template,
            "prompt_tokens": f"{tokens[0]} before the query, {tokens[1]} between, {tokens[2]} after the document"
            if tokens else None, "answer_tokens": list(prompt.answer_tokens) or None,
            "cutoff_layers": list(getattr(scorer, "cutoff_layers", ())) or None}


def _write_runs(out_dir: Path, stage: str, runs: dict[str, Run], benchmark: Benchmark, tag: str) -> None:
    for lang, run in runs.items():
        write_run(out_dir / "runs" / f"{stage}.{lang}.trec", run, tag, list(benchmark.queries[lang]))

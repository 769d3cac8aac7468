"""`evalkit explore RUN_DIR [RUN_DIR...]`: one self-contained HTML page showing, query by query, what moved.

Systems: the first run's first stage (the baseline) and, if it reranked, its reranked run; then each further run's
final system. For every query the page holds each system's metric values and top 10 (grade, length in tokens,
rank in the baseline, and for documents longer than the reranker's max_length where the cut fell and where the
benchmark's answer span sits). Data is gathered one language at a time, so memory follows the largest language.
"""
from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass, fields
from pathlib import Path

import pandas as pd
import yaml

from evalkit.storage.paths import published_path
from evalkit.config import BenchmarkConfig
from evalkit.contracts import Benchmark, canonical_order
from evalkit.data.spans import read_spans
from evalkit.data.trec import read_run
from evalkit.errors import EvalkitError
from evalkit.models.tokens import doc_budget
from evalkit.storage import atomic_write_text

log = logging.getLogger(__name__)
TOP = 10
TITLE_CHARS = 90


@dataclass(frozen=True)
class ExploreSystem:
    name: str
    run_dir: Path
    stage: str                 # first_stage | reranked
    max_length: int | None     # the reranker's max_length (None: no cut)
    query_budget: int | None


def _read_json(path: Path) -> dict:
    if not path.is_file():
        raise EvalkitError(f"{path.parent}: not a run directory ({path.name} missing)")
    return json.loads(path.read_text(encoding="utf-8"))


def explore_systems(run_dirs: list[Path]) -> list[ExploreSystem]:
    systems: list[ExploreSystem] = []
    for i, run_dir in enumerate(run_dirs):
        protocol = _read_json(run_dir / "metrics.json")["protocol"]
        stages = [s for s in ("first_stage", "reranked") if (run_dir / "runs" / f"{s}.{protocol['languages'][0]}.trec").is_file()]
        if not stages:
            raise EvalkitError(f"{run_dir}/runs: no first_stage.*.trec or reranked.*.trec run files")
        chosen = stages if i == 0 else stages[-1:]
        for stage in chosen:
            reranked = stage == "reranked"
            name = protocol["candidates"] + (f" → {protocol['reranker']}" if reranked else "")
            if any(s.name == name for s in systems):
                name = f"{name} ({run_dir.name})"
            systems.append(ExploreSystem(name, run_dir, stage, protocol.get("max_length") if reranked else None,
                                         protocol.get("query_budget") if reranked else None))
    return systems


def load_run_benchmark(run_dir: Path) -> Benchmark:
    """The benchmark a run was made on, from its config.yaml (texts and judgments come from there)."""
    from evalkit.data import load_benchmark

    config = yaml.safe_load((run_dir / "config.yaml").read_text(encoding="utf-8")) if (run_dir / "config.yaml").is_file() else None
    if not config or "benchmark" not in config:
        raise EvalkitError(f"{run_dir}/config.yaml: missing, or has no benchmark section")
    known = {f.name for f in fields(BenchmarkConfig)}
    return load_benchmark(BenchmarkConfig(**{k: v for k, v in config["benchmark"].items() if k in known}))


def query_table(systems: list[ExploreSystem]) -> tuple[pd.DataFrame, list[str]]:
    """One row per (lang, qid) of the baseline, a column per (metric, system index); refuses other query sets."""
    frames, keys = [], None
    for i, s in enumerate(systems):
        table = pd.read_parquet(s.run_dir / "per_query.parquet")
        table = table[table.system == s.stage]
        these = set(zip(table.lang, table.qid))
        if keys is not None and these != keys:
            raise EvalkitError(f"{s.run_dir}: its queries differ from {systems[0].run_dir}'s; explore compares runs "
                               "over one query set")
        keys = these
        frames.append(table.assign(system=i))
    tidy = pd.concat(frames, ignore_index=True)
    metrics = list(dict.fromkeys(tidy.metric))
    wide = tidy.pivot_table(index=["lang", "qid", "bucket"], columns=["metric", "system"], values="value",
                            aggfunc="first").reset_index()
    return wide.sort_values(["lang", "qid"], kind="stable").reset_index(drop=True), metrics


def _source_root(benchmark: Benchmark) -> Path | None:
    source = benchmark.protocol.get("source")
    if benchmark.name == "sample" and not source:
        source = str(Path(__file__).resolve().parent.parent / "sample_data")
    return Path(source) if source and Path(source).is_dir() else None


def language_details(lang: str, systems: list[ExploreSystem], benchmark: Benchmark, tokenizer, sep: str) -> dict:
    """Top 10 of every system for the language's queries, the relevant documents each left outside its top 10
    (with their rank, None when not retrieved), the shown documents' titles and lengths, the cuts."""
    queries = benchmark.queries[lang]
    qrels = benchmark.qrels.get(lang, {})
    runs = [read_run(s.run_dir / "runs" / f"{s.stage}.{lang}.trec", set(queries)) for s in systems]
    base_rank = {qid: {d: r for r, (d, _) in enumerate(canonical_order(docs), 1)} for qid, docs in runs[0].items()}
    tops = [{qid: [d for d, _ in canonical_order(docs)[:TOP]] for qid, docs in run.items()} for run in runs]
    relevant = {qid: {d for d, g in judged.items() if g > 0} for qid, judged in qrels.items() if qid in queries}
    ranks = [{qid: {d: r for r, (d, _) in enumerate(canonical_order(run.get(qid, {})), 1) if d in ds}
              for qid, ds in relevant.items()} for run in runs]   # where each relevant doc landed, per system
    del runs
    shown = sorted({d for top in tops for ds in top.values() for d in ds} | {d for ds in relevant.values() for d in ds})
    docs = benchmark.stores[lang].get(shown) if shown else []
    texts = [d.full_text(sep) for d in docs]
    lengths = [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]] if texts else []
    table = {d.docid: [(d.title or d.text)[:TITLE_CHARS], n + tokenizer.num_special_tokens_to_add()]
             for d, n in zip(docs, lengths)}
    doc_by_id = {d.docid: d for d in docs}
    answer_at = {}
    for (qid, docid), (start, _) in read_spans(_source_root(benchmark), lang, benchmark.protocol.get("split", "dev")).items():
        if docid in doc_by_id:
            d = doc_by_id[docid]
            prefix = (d.title + sep if d.title else "") + d.text[:start]
            answer_at[(qid, docid)] = len(tokenizer(prefix, add_special_tokens=False)["input_ids"])
    qids = list(queries)
    q_len = dict(zip(qids, (len(ids) for ids in tokenizer([queries[q] for q in qids], add_special_tokens=False)["input_ids"])))
    pair_specials = tokenizer.num_special_tokens_to_add(pair=True)
    details = {}
    for qid in qids:
        rows, missed, cuts = [], [], []
        for s, top, rank in zip(systems, tops, ranks):
            rows.append([[d, qrels.get(qid, {}).get(d), base_rank.get(qid, {}).get(d), answer_at.get((qid, d))]
                         for d in top.get(qid, [])])
            outside = relevant.get(qid, set()) - set(top.get(qid, []))
            missed.append([[d, qrels[qid][d], rank.get(qid, {}).get(d), base_rank.get(qid, {}).get(d),
                            answer_at.get((qid, d))] for d in sorted(outside, key=lambda d: (-qrels[qid][d], d))])
            cuts.append(None if s.max_length is None else
                        int(doc_budget(s.max_length, pair_specials, min(q_len[qid], s.query_budget or s.max_length))))
        details[qid] = {"rows": rows, "missed": missed, "cut": cuts}
    return {"docs": table, "q": details}


def collect(run_dirs: list[Path], title: str | None = None) -> tuple[dict, dict[str, dict]]:
    """The page's summary (systems, queries, values) and its per-language details."""
    from evalkit.data.tokenizer import load_tokenizer

    systems = explore_systems(run_dirs)
    wide, metrics = query_table(systems)
    benchmark = load_run_benchmark(run_dirs[0])
    protocol = _read_json(run_dirs[0] / "metrics.json")["protocol"]
    tokenizer = load_tokenizer(protocol.get("bucket_tokenizer", "xlmr"))
    sep = protocol.get("doc_sep", " ")
    langs = sorted(wide.lang.unique())
    buckets = sorted(wide.bucket.unique(), key=_bucket_order)
    summary = {
        "title": title or f"evalkit explore: {protocol['benchmark']} — " + " vs ".join(s.name for s in systems),
        "systems": [{"name": s.name, "run": str(published_path(s.run_dir)), "max_length": s.max_length}
                    for s in systems],
        "metrics": metrics, "langs": langs, "buckets": buckets, "top": TOP,
        "tokenizer": protocol.get("bucket_tokenizer", "xlmr"),
        "q": {"lang": [langs.index(x) for x in wide.lang], "qid": list(wide.qid),
              "bucket": [buckets.index(b) for b in wide.bucket],
              "text": [benchmark.queries[lang].get(qid, "") for lang, qid in zip(wide.lang, wide.qid)],
              "v": {m: [[_num(x) for x in wide[(m, i)]] if (m, i) in wide.columns else [None] * len(wide)
                        for i in range(len(systems))] for m in metrics}},
    }
    details = {lang: language_details(lang, systems, benchmark, tokenizer, sep) for lang in langs}
    return summary, details


def _num(x) -> float | None:
    return None if pd.isna(x) else round(float(x), 4)


def _bucket_order(label: str) -> tuple:
    head = label.split("-")[0].lstrip("<=>")
    return (0 if label.startswith("<=") else 2 if label.startswith(">") else 1, int(head) if head.isdigit() else 0)


def write_explorer(run_dirs: list[Path], out: Path, title: str | None = None) -> Path:
    """Write the page atomically (temporary sibling, fsync, rename)."""
    from evalkit.report.explore_page import render_page

    summary, details = collect([Path(d) for d in run_dirs], title)
    out = Path(out)
    atomic_write_text(out, render_page(summary, details))
    return out


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from evalkit.commands import parser

    args = parser("explore").parse_args(argv)
    try:
        path = write_explorer(args.run_dirs, args.out or args.run_dirs[0] / "explore.html", args.title)
    except (EvalkitError, FileNotFoundError) as exc:
        sys.stderr.write(f"evalkit explore: error: {exc}\n")
        return 2
    log.info("wrote %s", path)
    return 0

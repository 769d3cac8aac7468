"""`evalkit explore RUN_DIR [RUN_DIR...]`: an HTML page showing, query by query, what moved, and why.

Systems: the first run's first stage (the baseline) and, if it reranked, its reranked run; then each further run's
final system. The page (explore.html) holds every query's metric values; what a query shows when opened sits in a
shard file beside it (explore_files/<k>.js, SHARD queries each, loaded on demand by a <script> element, which a
file:// page may do): each system's top 10 with grade (none: unjudged), length in tokens, rank in the baseline,
the passage text, the character where the reranker's input was cut (doc_budget) and the answer span where the
benchmark has one (the sample's spans/ files, MKQA's answer strings). Data is gathered one language at a time and
one shard's documents at a time, so memory follows the largest language's runs, not the corpus.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import sys
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Iterator

import pandas as pd
import yaml

from evalkit.storage.paths import published_path
from evalkit.config import BenchmarkConfig
from evalkit.contracts import Benchmark, Doc, canonical_order
from evalkit.data.spans import read_spans
from evalkit.data.trec import read_run
from evalkit.errors import EvalkitError
from evalkit.metrics.answers import has_answer
from evalkit.models.tokens import doc_budget
from evalkit.storage import atomic_write_text
from evalkit.storage.atomic import fsync_path, temp_name, write_error

log = logging.getLogger(__name__)
TOP = 10
TITLE_CHARS = 90
SHARD = 25             # queries per shard file: what one opened query loads
TEXT_CHARS = 2_000     # a passage's head carried in full; beyond it, only windows around its marks (cut, answer)
CONTEXT_CHARS = 300    # characters either side of a mark


@dataclass(frozen=True)
class ExploreSystem:
    name: str
    run_dir: Path
    stage: str                 # first_stage | reranked
    max_length: int | None     # the reranker's max_length (None: no cut)
    query_budget: int | None
    chunked: bool = False      # reranker.long_docs other than truncate: no cut; the best chunk is shown instead


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
            chunked = reranked and protocol.get("long_docs") not in (None, "truncate")
            systems.append(ExploreSystem(name, run_dir, stage, protocol.get("max_length") if reranked else None,
                                         protocol.get("query_budget") if reranked else None, chunked))
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


def _answer_span(text: str, answers: list[str]) -> tuple[int, int] | None:
    """Where the first answer string (case-insensitive, earliest in the text) sits in `text`, MKQA-style."""
    hits = [m.span() for a in answers if a.strip() for m in [re.search(re.escape(a.strip()), text, re.IGNORECASE)] if m]
    return min(hits) if hits else None


def _windows(text: str, marks: list[tuple[int, int]]) -> list[list]:
    """What the page carries of a passage: its first TEXT_CHARS characters and CONTEXT_CHARS around each mark,
    merged, as [[start, text], ...] with start in UTF-16 units (so a long document costs a few windows, not its
    whole text)."""
    spans = sorted([(0, TEXT_CHARS), *((a - CONTEXT_CHARS, b + CONTEXT_CHARS) for a, b in marks)])
    merged: list[list[int]] = []
    for a, b in spans:
        a, b = max(a, 0), min(b, len(text))
        if merged and a <= merged[-1][1] + CONTEXT_CHARS:
            merged[-1][1] = max(merged[-1][1], b)
        elif a < b:
            merged.append([a, b])
    return [[_utf16(text, a), text[a:b]] for a, b in merged]


def _utf16(text: str, i: int) -> int:
    """Character offset `i` as the page's JavaScript counts it (UTF-16 units: a character beyond U+FFFF is two)."""
    return i + sum(1 for ch in text[:i] if ord(ch) > 0xFFFF)


class _Language:
    """One language's runs, judgments and answer spans, turned into shards of SHARD queries (only a shard's
    documents are fetched and tokenized at a time)."""

    def __init__(self, lang: str, systems: list[ExploreSystem], benchmark: Benchmark, tokenizer, sep: str):
        self.lang, self.systems, self.tokenizer, self.sep = lang, systems, tokenizer, sep
        self.queries = benchmark.queries[lang]
        self.store = benchmark.stores[lang]
        self.answers = (benchmark.answers or {}).get(lang)   # MKQA: answers judge the shown documents
        self.qrels = benchmark.qrels.get(lang, {})
        self.relevant = {qid: {d for d, g in judged.items() if g > 0} for qid, judged in self.qrels.items()
                         if qid in self.queries}
        self.tops: list[dict] = [{} for _ in systems]
        self.ranks: list[dict] = [{} for _ in systems]   # where each relevant doc landed, per system
        self.base_rank: dict[str, dict[str, int]] = {}    # baseline rank of every doc the page may show
        for j in [*range(1, len(systems)), 0]:            # the baseline last: by then what is shown is known
            run = read_run(systems[j].run_dir / "runs" / f"{systems[j].stage}.{lang}.trec", set(self.queries))
            for qid, docs in run.items():                 # only these reductions outlive the run: one run in memory
                ranked = [d for d, _ in canonical_order(docs)]
                self.tops[j][qid] = ranked[:TOP]
                relevant = self.relevant.get(qid, set())
                self.ranks[j][qid] = {d: r for r, d in enumerate(ranked, 1) if d in relevant}
                if j == 0:
                    shown = relevant.union(*(top.get(qid, ()) for top in self.tops))
                    self.base_rank[qid] = {d: r for r, d in enumerate(ranked, 1) if d in shown}
            del run
        self.spans = read_spans(_source_root(benchmark), lang, benchmark.protocol.get("split", "dev"))
        self.chunks = [self._chunks(s) if s.chunked else {} for s in systems]
        self.pair_specials = tokenizer.num_special_tokens_to_add(pair=True)

    def _chunks(self, system: ExploreSystem) -> dict[tuple[str, str], tuple[int, ...]]:
        """(qid, docid) -> (chunks, best, start, end) of a chunked rerank, for the documents a page may show."""
        from evalkit.rerank.chunk_report import read_chunk_details

        shown = {q: self.relevant.get(q, set()).union(*(top.get(q, ()) for top in self.tops)) for q in self.queries}
        return {k: v for k, v in read_chunk_details(system.run_dir / "runs", system.stage, self.lang).items()
                if k[1] in shown.get(k[0], ())}

    def grade(self, qid: str, doc: Doc) -> int | None:
        if self.answers is not None:
            return int(has_answer(doc.full_text("\n"), self.answers.get(qid, [])))
        return self.qrels.get(qid, {}).get(doc.docid)

    def shard(self, qids: list[str]) -> dict:
        """{"docs": docid -> [title, tokens, text windows, length], "q": qid -> rows, missed, cuts (tokens), cut_at
        and answer (offsets)}: everything the page shows for these queries. Offsets and lengths count UTF-16 units
        of title + doc_sep + text, as the page's JavaScript does."""
        shown = sorted({d for top in self.tops for q in qids for d in top.get(q, [])}
                       | {d for q in qids for d in self.relevant.get(q, ())})
        docs = {d.docid: d for d in (self.store.get(shown) if shown else [])}
        texts = {d: doc.full_text(self.sep) for d, doc in docs.items()}
        enc = self.tokenizer(list(texts.values()), add_special_tokens=False, return_offsets_mapping=True) if texts \
            else {"offset_mapping": []}
        offsets = dict(zip(texts, enc["offset_mapping"]))
        q_len = dict(zip(qids, (len(ids) for ids in self.tokenizer([self.queries[q] for q in qids],
                                                                    add_special_tokens=False)["input_ids"])))
        marks: dict[str, list[tuple[int, int]]] = {d: [] for d in texts}
        out = {}
        for qid in qids:
            cuts = [None if s.max_length is None or s.chunked else
                    int(doc_budget(s.max_length, self.pair_specials, min(q_len[qid], s.query_budget or s.max_length)))
                    for s in self.systems]
            in_query = {d for top in self.tops for d in top.get(qid, [])} | self.relevant.get(qid, set())
            answer_at, answer_chars = {}, {}
            for d in sorted(in_query & set(docs)):
                span = self.spans.get((qid, d))
                title = docs[d].title + self.sep if docs[d].title else ""
                if span is not None:
                    answer_at[d] = len(self.tokenizer(title + docs[d].text[:span[0]], add_special_tokens=False)["input_ids"])
                    answer_chars[d] = [len(title) + span[0], len(title) + span[1]]
                elif self.answers is not None:
                    found = _answer_span(texts[d], self.answers.get(qid, []))
                    if found:
                        answer_chars[d] = list(found)
                        answer_at[d] = sum(1 for a, _ in offsets[d] if a < found[0])
                if d in answer_chars:
                    marks[d].append(tuple(answer_chars[d]))
            rows, missed, cut_chars = [], [], []
            for j, (top, rank) in enumerate(zip(self.tops, self.ranks)):
                ranked = top.get(qid, [])
                rows.append([[d, self.grade(qid, docs[d]) if d in docs else self.qrels.get(qid, {}).get(d),
                              self.base_rank.get(qid, {}).get(d), answer_at.get(d)] for d in ranked])
                outside = self.relevant.get(qid, set()) - set(ranked)
                missed.append([[d, self.qrels[qid][d], rank.get(qid, {}).get(d), self.base_rank.get(qid, {}).get(d),
                                answer_at.get(d)] for d in sorted(outside, key=lambda d: (-self.qrels[qid][d], d))])
                at = {}
                for d in [*ranked, *outside]:
                    if cuts[j] is not None and d in offsets and cuts[j] < len(offsets[d]):
                        at[d] = offsets[d][cuts[j] - 1][1] if cuts[j] > 0 else 0
                        marks[d].append((at[d], at[d]))
                cut_chars.append(at)
            out[qid] = {"rows": rows, "missed": missed, "cut": cuts,
                        "chunk": [{d: list(c[(qid, d)]) for d in sorted(in_query) if (qid, d) in c} for c in self.chunks],
                        "cut_at": [{d: _utf16(texts[d], c) for d, c in at.items()} for at in cut_chars],
                        "answer": {d: [_utf16(texts[d], a), _utf16(texts[d], b)] for d, (a, b) in answer_chars.items()}}
        special = self.tokenizer.num_special_tokens_to_add()
        table = {d: [(docs[d].title or docs[d].text)[:TITLE_CHARS], len(offsets[d]) + special,
                     _windows(text, marks[d]), _utf16(text, len(text))] for d, text in texts.items()}
        return {"docs": table, "q": out}


def collect(run_dirs: list[Path], title: str | None = None) -> tuple[dict, Iterator[dict]]:
    """The page's summary (systems, queries, values, each query's shard) and a generator of its shards, in order,
    built one language at a time (memory follows the largest language's runs, and one shard's texts)."""
    from evalkit.data.tokenizer import load_tokenizer

    systems = explore_systems(run_dirs)
    wide, metrics = query_table(systems)
    benchmark = load_run_benchmark(run_dirs[0])
    protocol = _read_json(run_dirs[0] / "metrics.json")["protocol"]
    tokenizer = load_tokenizer(protocol.get("bucket_tokenizer", "xlmr"))
    sep = protocol.get("doc_sep", " ")
    langs = sorted(wide.lang.unique())
    buckets = sorted(wide.bucket.unique(), key=_bucket_order)
    plan: list[tuple[str, list[str]]] = []    # shard -> (lang, qids)
    shard_of = []
    for lang, part in wide.groupby("lang", sort=True):
        qids = list(part.qid)
        for start in range(0, len(qids), SHARD):
            plan.append((lang, qids[start:start + SHARD]))
            shard_of += [len(plan) - 1] * len(plan[-1][1])
    summary = {
        "title": title or f"evalkit explore: {protocol['benchmark']} — " + " vs ".join(s.name for s in systems),
        "systems": [{"name": s.name, "run": str(published_path(s.run_dir)), "max_length": s.max_length}
                    for s in systems],
        "metrics": metrics, "langs": langs, "buckets": buckets, "top": TOP,
        "tokenizer": protocol.get("bucket_tokenizer", "xlmr"),
        "q": {"lang": [langs.index(x) for x in wide.lang], "qid": list(wide.qid),
              "bucket": [buckets.index(b) for b in wide.bucket], "shard": shard_of,
              "text": [benchmark.queries[lang].get(qid, "") for lang, qid in zip(wide.lang, wide.qid)],
              "v": {m: [[_num(x) for x in wide[(m, i)]] if (m, i) in wide.columns else [None] * len(wide)
                        for i in range(len(systems))] for m in metrics}},
    }

    def shards() -> Iterator[dict]:
        current = None
        for lang, qids in plan:
            if current is None or current.lang != lang:
                current = _Language(lang, systems, benchmark, tokenizer, sep)
            yield current.shard(qids)

    return summary, shards()


def _num(x) -> float | None:
    return None if pd.isna(x) else round(float(x), 4)


def _bucket_order(label: str) -> tuple:
    head = label.split("-")[0].lstrip("<=>")
    return (0 if label.startswith("<=") else 2 if label.startswith(">") else 1, int(head) if head.isdigit() else 0)


def write_explorer(run_dirs: list[Path], out: Path, title: str | None = None) -> Path:
    summary, shards = collect([Path(d) for d in run_dirs], title)
    return write_page(summary, shards, Path(out))


def write_page(summary: dict, shards: Iterator[dict], out: Path) -> Path:
    """The page and, beside it, its shard folder (`<stem>_files/`): shards are written into a private temporary
    folder that then replaces the old one; the page itself is published atomically last."""
    from evalkit.report.explore_page import render_page, shard_script

    folder = out.with_name(f"{out.stem}_files")
    summary["files"] = folder.name
    summary["build"] = hashlib.sha256(json.dumps(summary, sort_keys=True).encode()).hexdigest()[:16]
    tmp = temp_name(folder)
    try:
        tmp.mkdir(parents=True)
        for k, shard in enumerate(shards):
            path = tmp / f"{k}.js"
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(shard_script(k, summary["build"], shard))
                fh.flush()
                os.fsync(fh.fileno())
        fsync_path(tmp)
        old = temp_name(folder, "old")
        if folder.exists():
            folder.rename(old)
        tmp.rename(folder)
        shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise write_error(folder, exc) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    atomic_write_text(out, render_page(summary))
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
    log.info("wrote %s (and its %s_files/ beside it)", path, path.stem)
    return 0

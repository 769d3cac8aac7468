"""Structured configs: the schema every YAML in configs/ is checked against before any work starts.

A misspelt key or a value of the wrong type fails in Hydra's composition step, naming the key; every field carries
its value check (`setting(default, check)`, evalkit/checks.py), run by evalkit/app/validate.py before any work.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from omegaconf import MISSING, OmegaConf

from evalkit.checks import (any_value, at_least, device, each, existing_path, increasing_edges, lang_code,
                            not_a_dir, one_of, optional, registered, reproduces, run_name, setting, shard, template,
                            unique_langs, unique_names, writable_dir)
from evalkit.metrics.measures import DEFAULT_MEASURES, check as measure   # the one parser of measure names

# Facts named once: every module that needs these choices imports them from here.
DTYPES = ("auto", "fp32", "bf16", "fp16")            # config names; evalkit.models.device maps them to torch
SCORE_TRANSFORMS = ("logit", "sigmoid")
LONG_DOCS = ("truncate", "maxp", "firstp", "sump", "meanp")   # reranker.long_docs (evalkit/rerank/chunks.py)
POOLS = ("full", "judged")
MISSING_DOCS = ("error", "warn")


@dataclass
class BenchmarkConfig:
    name: str = setting(MISSING, registered("benchmark"))   # an entry of evalkit.data.BENCHMARKS
    source: Optional[str] = setting(None, optional(existing_path("directory")))   # local dir or hub id (None: default)
    corpus_source: Optional[str] = setting(None, optional(existing_path("directory")))   # the corpus, if apart
    revision: Optional[str] = setting(None, any_value)           # hub revision (commit) to pin
    split: str = setting("dev", lambda v: None if v.strip() else "must not be empty (e.g. dev, test)")
    languages: Optional[list[str]] = setting(None, optional(unique_langs))   # None: every language
    datasets: Optional[list[str]] = setting(None, optional(unique_names))   # beir / loco: None: the config's list
    pool: str = setting("full", one_of(*POOLS))  # full: rank the whole corpus (paper protocol) | judged: judged only
    subset: Optional[str] = setting(None, optional(
        lambda v: None if v.strip() else "must name a subset (results/subsets/<name>) or a directory"))
    missing_docs: str = setting("error", one_of(*MISSING_DOCS))   # qrels docids absent from the corpus
    doc_sep: str = setting(" ", any_value)   # joins title and text into the passage a model reads
    format: Optional[str] = setting(None, optional(one_of("beir", "trec")))   # local benchmarks: the layout
    lang: Optional[str] = setting(None, optional(lang_code))   # local benchmarks: every query's language
    cache_dir: Optional[str] = setting(None, optional(writable_dir))   # Arrow document stores ($EVALKIT_CACHE)
    id: Optional[str] = setting(None, optional(lambda v: None if v.strip() else "must name an ir_datasets id"))
    irds_module: Optional[str] = setting(None, any_value)   # benchmark=irds: a module that registers datasets
    label: str = setting("${.name}", run_name)   # the benchmark part of the default run directory (local-scifact)


def _dataset_label(value: Optional[str], whole: bool = False) -> str:
    """`${evalkit.label:${.source}}`: a path's last part; `${evalkit.label:${.id},true}`: an id with '/' as '-'
    (`miracl-yo-dev`). Names the results directory of local / irds runs, so two datasets' runs never collide."""
    if not value:
        return "unset"
    name = "-".join(p for p in str(value).split("/") if p) if whole else Path(value).expanduser().resolve().name
    return re.sub(r"[^\w.-]+", "_", name).strip(".") or "unset"


def _id_split(value: Optional[str]) -> str:
    """`${evalkit.split:${.id}}`: an ir_datasets id's last part (miracl/yo/dev -> dev), its split."""
    return str(value).rstrip("/").split("/")[-1] if value else "unset"


OmegaConf.register_new_resolver("evalkit.label", _dataset_label, replace=True)
OmegaConf.register_new_resolver("evalkit.split", _id_split, replace=True)


@dataclass
class CandidatesConfig:
    """The first stage. Each stage's own settings are its section (candidates.bm25, candidates.dense, ...),
    declared by its registry entry (evalkit/candidates/) and added to the schema by evalkit/app/schema.py."""
    name: str = setting(MISSING, registered("candidates"))    # an entry of evalkit.candidates.FIRST_STAGES
    label: str = setting("${.name}", run_name)   # the candidates part of the default run name (bm25_anserini)
    depth: int = setting(100, at_least(1))        # candidates per query handed to the reranker
    path: Optional[str] = setting(None, optional(existing_path("file or directory")))   # runfile: file or directory


@dataclass
class RerankerConfig:
    """The reranker. `backend` picks the registry entry (evalkit/rerank/) that scores; `name` is the preset."""
    name: str = setting(MISSING, registered("reranker presets"))   # a configs/reranker/*.yaml name
    model: Optional[str] = setting(None, optional(existing_path("model directory")))   # hub id or local directory
    revision: Optional[str] = setting(None, any_value)
    max_length: Optional[int] = setting(None, optional(at_least(8)))   # None: the model's own limit (recorded)
    query_max_length: Optional[int] = setting(None, optional(at_least(1)))   # the query is cut only beyond this
    query_template: str = setting("{query}", template("query"))
    doc_template: str = setting("{doc}", template("doc"))
    score_transform: str = setting("logit", one_of(*SCORE_TRANSFORMS))
    dtype: str = setting("auto", one_of(*DTYPES))   # auto (fp32 on CPU, fp16 on GPU) | fp32 | bf16 | fp16
    device: str = setting("auto", device)           # auto | cpu | cuda | cuda:N
    attn_implementation: str = setting("sdpa", one_of("sdpa", "eager", "flash_attention_2"))
    # tokens per batch (padded; real when packed); 0 = auto (CPU 16384, CUDA from free memory)
    batch_tokens: int = setting(0, lambda v: None if v >= 0 else "must be an integer >= 0 (0: auto)")
    # est. model tokens per scoring window (UTF-8 bytes / 4; deduped, cached, tokenized, scored, released);
    # 0 = auto: max(2M, 8 x batch_tokens)
    window_tokens: int = setting(0, lambda v: None if v >= 0 else "must be an integer >= 0 (0: auto)")
    # padding-free batches: auto (CUDA fp16/bf16, GTE/XLM-R) | true | false
    packed: str = setting("auto", lambda v: None if str(v).lower() in ("auto", "true", "false")
                          else "choose one of auto, true, false")
    cache: bool = setting(True, any_value)                   # the on-disk pair-score cache
    cache_path: Optional[str] = setting(None, optional(not_a_dir))   # default $EVALKIT_CACHE/pair_scores.sqlite
    backend: str = setting("cross_encoder", registered("reranker"))   # an entry of evalkit.rerank.RERANKERS
    # documents longer than max_length: truncate | maxp | firstp | sump | meanp (evalkit/rerank/chunks.py)
    long_docs: str = setting("truncate", one_of(*LONG_DOCS))
    chunk_tokens: Optional[int] = setting(None, optional(at_least(1)))   # None: what max_length leaves
    chunk_stride: Optional[int] = setting(None, optional(at_least(1)))   # None: chunk_tokens (no overlap)
    chunk_title: bool = setting(True, any_value)   # the title in front of every chunk (else the first only)


@dataclass
class MetricsConfig:
    measures: list[str] = setting(check=each(measure), factory=lambda: list(DEFAULT_MEASURES))
    bucket_edges: list[int] = setting(check=increasing_edges, factory=lambda: [512, 1024, 2048, 4096, 8192])
    no_relevant: str = setting("exclude", one_of("exclude", "zero"))   # queries without a relevant judgment
    oracle: bool = setting(False, any_value)   # recompute every metric with pytrec_eval and fail on a difference
    # counts document tokens for buckets (xlmr: bundled, shared by GTE/BGE)
    bucket_tokenizer: str = setting("xlmr", lambda v: None if v == "xlmr" else existing_path("tokenizer directory")(v))


@dataclass
class ReportConfig:
    formats: list[str] = setting(check=registered("report.formats", many=True), factory=lambda: ["md"])
    title: Optional[str] = setting(None, any_value)
    published: Optional[str] = setting(None, any_value)   # key in results/published/*.yaml this run reproduces
    # which published rows each system reproduces: "<benchmark>/<candidates>[/<reranker>]" -> ["row" | "table:row"]
    reproduces: dict[str, list[str]] = setting(check=reproduces, factory=dict)
    # sweeps: compare runs whose protocols differ (candidates.depth, ...) with a banner instead of refusing
    allow_protocol_mismatch: bool = setting(False, any_value)


@dataclass
class ExecutorConfig:
    name: str = setting("local", registered("executor"))   # an entry of evalkit.executors.EXECUTORS
    address: Optional[str] = setting(None, any_value)   # ray: None starts a local instance; "auto" joins a cluster
    num_actors: int = setting(1, at_least(1))    # ray: model replicas (actors), each scoring whole blocks of pairs
    gpus_per_actor: float = setting(0.0, at_least(0.0, "a number"))   # ray: > 0 puts each actor on a GPU
    cpus_per_actor: float = setting(1.0, lambda v: None if v > 0 else "must be a number > 0")   # and torch threads
    block_pairs: int = setting(4096, at_least(1))   # ray: pairs (or texts to embed) per actor call
    # ray: texts to embed per pass of the actor pool (one start-up per pass; the driver holds a window's texts)
    window_texts: int = setting(500_000, at_least(1))
    max_retries: int = setting(3, at_least(0))   # ray: restarts of a dead actor and retries of its unfinished block


@dataclass
class RunConfig:
    name: str = setting("${candidates.label}-${reranker.name}", run_name)
    seed: int = setting(0, at_least(0))
    shard: Optional[str] = setting(None, optional(shard))   # "i/n": this process handles shard i of n
    overwrite: bool = setting(False, any_value)   # replace a run directory that holds another configuration's run


def _table_part(need: tuple[str, ...]):
    """table.columns / table.rows: name -> a mapping holding `need` (evalkit/report/paper_table.py reads them)."""
    def check(value) -> str | None:
        bad = [k for k, v in (value or {}).items() if not isinstance(v, dict) or any(n not in v for n in need)]
        return f"each entry needs {', '.join(need)} (bad: {', '.join(map(str, bad))})" if bad else None
    return check


NO_CELL = "none-chosen"   # a table preset's own table.cell: it runs as a sweep, or one cell is picked


def _cell(value: Optional[str]) -> str | None:
    if value == NO_CELL:
        return ("a table preset runs as a sweep (evalkit --multirun experiment=<table>) or one cell at a time "
                "(evalkit experiment=<table> +experiment/<table>=<column>-<row>; docs/paper.md)")
    return None if value is None else run_name(value)


@dataclass
class TableConfig:
    """A paper-table preset (experiment=mgte_table5): the page's cells, where their data lives, and which cell a
    run is. Unset (name null) for every other run."""
    name: Optional[str] = setting(None, optional(run_name))       # the preset (page title, table.md)
    title: Optional[str] = setting(None, any_value)
    published: Optional[str] = setting(None, any_value)          # key in results/published/*.yaml
    system: str = setting("reranked", one_of("first_stage", "reranked"))   # the metrics.json system a cell reads
    tolerance: float = setting(0.05, at_least(0.0, "a number"))  # |evalkit - published| in points for OK
    stand_in: bool = setting(False, any_value)                   # stand-in data: the page says so in a banner
    sources: dict[str, Optional[str]] = setting(check=any_value, factory=dict)   # column data: hub id or directory
    languages: Optional[list[str]] = setting(None, optional(unique_langs))   # multilingual columns (None: all)
    datasets: dict[str, list[str]] = setting(check=any_value, factory=dict)   # beir / loco columns' datasets
    columns: dict[str, Any] = setting(check=_table_part(("label", "benchmark", "metric", "protocol")), factory=dict)
    rows: dict[str, Any] = setting(check=_table_part(("label", "published")), factory=dict)
    cell: Optional[str] = setting(None, _cell)                    # <column>-<row> of this run


@dataclass
class Config:
    """The generic sections; evalkit/app/schema.py adds the registry entries' own sections to them."""
    benchmark: BenchmarkConfig = MISSING
    candidates: CandidatesConfig = MISSING
    reranker: RerankerConfig = MISSING
    metrics: MetricsConfig = MISSING
    report: ReportConfig = MISSING
    executor: ExecutorConfig = field(default_factory=ExecutorConfig)
    run: RunConfig = field(default_factory=RunConfig)
    table: TableConfig = field(default_factory=TableConfig)


HYDRA_TARGETS = ("hydra.", "hydra_plugins.")   # Hydra's own launchers and sweepers, under the `hydra` node only


def check_targets(node: Any, where: str = "") -> None:
    """Hydra `_target_` keys name evalkit's own classes only (configs/config.yaml's sweep callback), and under
    the `hydra` node Hydra's own plugin classes (launchers, sweepers): evalkit instantiates no config node, and
    an override cannot point one at a foreign callable. `node`: plain containers
    (OmegaConf.to_container(cfg, resolve=False))."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        path = f"{where}.{key}" if where else str(key)
        allowed = ("evalkit.", *HYDRA_TARGETS) if path.startswith("hydra.") else ("evalkit.",)
        if key == "_target_" and not (isinstance(value, str) and value.startswith(allowed)):
            raise ValueError(f"{path}={value!r}: only evalkit's own classes (and Hydra's own plugins under "
                             "hydra.) may be a _target_")
        check_targets(value, path)

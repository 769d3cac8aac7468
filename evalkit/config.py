"""Structured configs: the schema every YAML in configs/ is checked against before any work starts.

A misspelt key or a value of the wrong type fails in Hydra's composition step, naming the key.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING


@dataclass
class BenchmarkConfig:
    name: str = MISSING                      # sample | miracl | mldr | mkqa | local
    source: Optional[str] = None             # local directory or hub dataset id (None: the benchmark's default)
    corpus_source: Optional[str] = None      # where the corpus lives, if apart from the topics/qrels
    revision: Optional[str] = None           # hub revision (commit) to pin
    split: str = "dev"
    languages: Optional[list[str]] = None    # None: every language of the benchmark
    pool: str = "full"                       # full: rank the whole corpus (paper protocol) | judged: judged passages only
    subset: Optional[str] = None             # frozen CI subset name (results/subsets/<name>)
    missing_docs: str = "error"              # qrels docids absent from the corpus: error | warn
    doc_sep: str = " "                       # joins title and text into the passage a model reads
    format: Optional[str] = None             # local benchmarks: beir | trec
    lang: Optional[str] = None               # local benchmarks: language of every query, if not per query
    cache_dir: Optional[str] = None          # where Arrow document stores are built (default $EVALKIT_CACHE)


@dataclass
class Bm25Config:
    mode: str = "language"                   # language (script-aware tokens) | anserini (Lucene as Pyserini) | xlmr
    k1: float = 0.9
    b: float = 0.4
    tokenizer: Optional[str] = None          # xlmr mode: tokenizer id or path (default: the reranker's)


@dataclass
class DenseConfig:
    model: Optional[str] = None
    revision: Optional[str] = None
    pooling: str = "cls"                     # cls | mean
    normalize: bool = True
    max_length: int = 8192
    query_prefix: str = ""
    doc_prefix: str = ""
    batch_tokens: int = 16384
    dtype: str = "auto"
    device: str = "auto"
    shard_docs: int = 50_000                 # documents per on-disk embedding shard (the unit of resumption)


@dataclass
class LuceneConfig:
    """candidates=lucene: Lucene BM25 through Pyserini 0.22.1 (evalkit/candidates/lucene.py)."""
    k1: float = 0.9
    b: float = 0.4
    hits: int = 1000                         # Lucene hits per query before the depth cut (Pyserini's --hits)
    analyzers: dict[str, str] = field(default_factory=dict)   # lang -> Lucene language code | en | whitespace
    threads: int = 0                         # indexing and search threads (0: every core)
    batch_docs: int = 10_000                 # documents handed to the indexer per call
    batch_queries: int = 512                 # queries per batch_search call
    heap: str = "4g"                         # JVM -Xmx (one JVM per process, fixed when it starts)
    memory_buffer_mb: int = 1024             # Lucene IndexWriter RAM buffer


@dataclass
class HybridConfig:
    systems: list[str] = field(default_factory=lambda: ["bm25", "dense"])
    method: str = "rrf"                      # rrf | wsum
    weights: Optional[list[float]] = None
    norm: str = "min-max"                    # wsum normalisation (ranx fusion norm)
    depth: int = 1000                        # depth of each fused run
    rrf_k: int = 60                          # rrf: score = sum of 1 / (rrf_k + rank)


@dataclass
class M3Config:                              # candidates.name=m3: BGE-M3's five modes (evalkit/candidates/m3.py)
    model: Optional[str] = "BAAI/bge-m3"
    revision: Optional[str] = None
    mode: str = "dense"                      # dense | sparse | multi_vec | dense_sparse | all
    weights: list[float] = field(default_factory=lambda: [1.0, 0.3, 1.0])   # [dense, sparse, colbert]
    max_length: int = 8192                   # documents
    query_max_length: int = 512
    fusion_depth: int = 1000                 # dense_sparse: depth of each fused list
    rerank_depth: int = 200                  # multi_vec, all: dense candidates re-ranked
    window_queries: int = 256                # multi_vec, all: queries whose candidates are encoded together
    batch_tokens: int = 16384
    dtype: str = "auto"
    device: str = "auto"
    shard_docs: int = 50_000                 # documents per index shard (the unit of resumption)


@dataclass
class CandidatesConfig:
    name: str = MISSING                      # bm25 | lucene | runfile | dense | hybrid | m3
    label: str = "${.name}"                  # the candidates part of the default run name (bm25_anserini, dense_gte)
    depth: int = 100                         # candidates per query handed to the reranker
    path: Optional[str] = None               # runfile: a file, or a directory of run.{lang}.trec files
    bm25: Bm25Config = field(default_factory=Bm25Config)
    dense: DenseConfig = field(default_factory=DenseConfig)
    hybrid: HybridConfig = field(default_factory=HybridConfig)
    lucene: LuceneConfig = field(default_factory=LuceneConfig)
    m3: M3Config = field(default_factory=M3Config)


@dataclass
class ApiConfig:
    """reranker=api: a hosted or self-hosted rerank endpoint (see evalkit/rerank/api)."""
    format: str = "cohere"                   # cohere | jina | voyage | tei | vllm | infinity
    base_url: Optional[str] = None           # e.g. https://api.cohere.com or http://127.0.0.1:7997
    model: Optional[str] = None              # the provider's model name (sent in the request body)
    route: Optional[str] = None              # vllm: rerank (/v1/rerank, default) | score (/score)
    key_env: Optional[str] = None            # NAME of the environment variable holding the key (never the key)
    docs_per_request: Optional[int] = None   # None: the provider's documented cap
    max_concurrency: int = 4                 # requests in flight
    requests_per_minute: Optional[float] = None   # None: no limit; retries count too
    timeout_s: float = 60.0                  # per request
    max_retries: int = 6                     # on 429, 408, 409, 5xx, timeouts, dropped connections
    backoff_base_s: float = 1.0              # full-jitter exponential backoff: U(0, min(max, base * 2^n))
    backoff_max_s: float = 60.0              # also caps Retry-After / retry-after-ms / X-RateLimit-Reset waits
    raw_scores: bool = True                  # ask for logits where offered (tei, infinity raw_scores; vllm)
    truncate_tokens: Optional[int] = None    # cohere max_tokens_per_doc | vllm truncate_prompt_tokens
    truncate: Optional[bool] = None          # voyage truncation | tei truncate (None: the provider's default)
    probe_file: Optional[str] = None         # probe.json of `evalkit probe`, shown next to the length buckets


@dataclass
class RerankerConfig:
    name: str = MISSING                      # gte | bge_m3 | hf | api | none
    model: Optional[str] = None              # hub id or local directory
    revision: Optional[str] = None
    max_length: Optional[int] = None         # None: the model's own limit (recorded in every report)
    query_max_length: Optional[int] = None   # the query is truncated only beyond this budget
    query_template: str = "{query}"
    doc_template: str = "{doc}"
    score_transform: str = "logit"           # logit | sigmoid
    dtype: str = "auto"                      # auto (fp32 on CPU, fp16 on GPU) | fp32 | bf16 | fp16
    device: str = "auto"                     # auto | cpu | cuda | cuda:N
    attn_implementation: str = "sdpa"        # sdpa | eager | flash_attention_2
    batch_tokens: int = 0                    # tokens per batch (padded; real when packed); 0 = auto (CPU 16384,
                                             # CUDA from free memory)
    window_tokens: int = 0                   # est. model tokens per scoring window (UTF-8 bytes / 4; deduped,
                                             # cached, tokenized, scored, released); 0 = auto: max(2M, 8 x batch_tokens)
    packed: str = "auto"                     # padding-free batches: auto (CUDA fp16/bf16, GTE/XLM-R) | true | false
    cache: bool = True                       # the on-disk pair-score cache
    cache_path: Optional[str] = None         # default $EVALKIT_CACHE/pair_scores.sqlite
    api: ApiConfig = field(default_factory=ApiConfig)   # reranker=api only


@dataclass
class MetricsConfig:
    measures: list[str] = field(default_factory=lambda: ["ndcg@10", "mrr@10", "recall@100"])
    bucket_edges: list[int] = field(default_factory=lambda: [512, 1024, 2048, 4096, 8192])
    no_relevant: str = "exclude"             # queries without a relevant judgment: exclude | zero
    oracle: bool = False                     # recompute every metric with pytrec_eval and fail on a difference
    bucket_tokenizer: str = "xlmr"           # counts document tokens for buckets (xlmr: bundled, shared by GTE/BGE)


@dataclass
class ReportConfig:
    formats: list[str] = field(default_factory=lambda: ["md"])   # md | html | latex | csv | parquet
    title: Optional[str] = None
    published: Optional[str] = None          # key in results/published/*.yaml this run reproduces
    # which published rows each system reproduces: "<benchmark>/<candidates>[/<reranker>]" -> ["row" | "table:row"]
    reproduces: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class ExecutorConfig:
    name: str = "local"                      # local | ray
    address: Optional[str] = None            # ray: None starts a local instance; "auto" joins a running cluster
    num_actors: int = 1                      # ray: model replicas (actors), each scoring whole blocks of pairs
    gpus_per_actor: float = 0.0              # ray: > 0 puts each actor on a GPU (device cuda)
    cpus_per_actor: float = 1.0              # ray: also the torch thread count of a CPU actor
    block_pairs: int = 4096                  # ray: pairs (or texts to embed) per actor call; the actor packs them
    window_texts: int = 500_000              # ray: texts to embed per pass of the actor pool (one start-up per pass;
                                             # the driver holds a window's texts and vectors)
    max_retries: int = 3                     # ray: restarts of a dead actor and retries of its unfinished block


@dataclass
class RunConfig:
    name: str = "${candidates.label}-${reranker.name}"
    seed: int = 0
    shard: Optional[str] = None              # "i/n": this process handles shard i of n
    overwrite: bool = False                  # replace a run directory that holds another configuration's run


@dataclass
class Config:
    benchmark: BenchmarkConfig = MISSING
    candidates: CandidatesConfig = MISSING
    reranker: RerankerConfig = MISSING
    metrics: MetricsConfig = MISSING
    report: ReportConfig = MISSING
    executor: ExecutorConfig = field(default_factory=ExecutorConfig)
    run: RunConfig = field(default_factory=RunConfig)


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


def register() -> None:
    ConfigStore.instance().store(name="evalkit_schema", node=Config)

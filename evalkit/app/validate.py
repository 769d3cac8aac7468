"""Every config value checked before any work: choices, ranges, paths, devices and required pairs of options.

`check_config(cfg)` raises one `EvalkitError` naming the key, the value and what is allowed, e.g.
`reranker.dtype='fp8': choose one of auto, fp32, bf16, fp16`. Types are checked earlier, by the structured
configs (evalkit/config.py); `RULES` has one entry per config field (tests/test_validate.py holds it to that).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable

from evalkit.errors import EvalkitError

Rule = Callable[[Any], "str | None"]     # value -> None when allowed, else what is allowed

DTYPES = ("auto", "fp32", "bf16", "fp16")
# ranx metric families (evalkit's answer_recall is ranx's hit_rate); those with no cut-off take none
MEASURES = ("ndcg", "ndcg_burges", "dcg", "dcg_burges", "mrr", "map", "precision", "recall", "f1", "hits",
            "hit_rate", "answer_recall", "r-precision")   # bpref needs the non-relevant judgments ranx is not given
NORMS = ("min-max", "max", "sum", "zmuv", "rank", "borda", "min-max-inverted", "max-inverted", "sum-inverted")
LANG_CODE = re.compile(r"[a-z]{2,3}([-_][A-Za-z0-9]+)?")


class ConfigValueError(EvalkitError):
    def __init__(self, key: str, value: Any, allowed: str):
        super().__init__(f"{key} is not set: {allowed}" if value in (None, "???") else f"{key}={value!r}: {allowed}")
        self.key = key


def one_of(*choices: str) -> Rule:
    return lambda v: None if v in choices else "choose one of " + ", ".join(choices)


def at_least(low: float, kind: str = "an integer") -> Rule:
    return lambda v: None if v >= low else f"must be {kind} >= {low}"


def between(low: float, high: float) -> Rule:
    return lambda v: None if low <= v <= high else f"must lie in [{low}, {high}]"


def optional(rule: Rule) -> Rule:
    return lambda v: None if v is None else rule(v)


def each(rule: Rule, non_empty: bool = True) -> Rule:
    def check(values):
        if non_empty and not values:
            return "must not be empty"
        bad = [v for v in values if rule(v) is not None]
        return f"{bad[0]!r} is not allowed: {rule(bad[0])}" if bad else None
    return check


def any_value(_: Any) -> None:
    """Free text (titles, separators, revisions): the structured config has already checked its type."""
    return None


def existing_path(kind: str = "path") -> Rule:
    """A value written as a path must exist (a hub id such as org/name is left to the loader)."""
    def check(v):
        if not _path_like(v) or Path(v).expanduser().exists():
            return None
        return f"no such {kind}; give an existing {kind} or a hub id"
    return check


def writable_dir(v: str) -> str | None:
    path = Path(v).expanduser()
    return "is an existing file; give a directory" if path.is_file() else None


def not_a_dir(v: str) -> str | None:
    return "is a directory; give a file path" if Path(v).expanduser().is_dir() else None


def device(v: str) -> str | None:
    """auto, cpu, cuda, cuda:N or mps, and the device must exist in this torch build."""
    if not re.fullmatch(r"auto|cpu|cuda(:\d+)?|mps", v):
        return "choose one of auto, cpu, cuda, cuda:N, mps"
    if v.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            return f"this torch ({torch.__version__}) sees no CUDA device; use auto or cpu"
        if ":" in v and int(v.split(":")[1]) >= torch.cuda.device_count():
            return f"this machine has {torch.cuda.device_count()} CUDA device(s) (cuda:0 .. cuda:{torch.cuda.device_count() - 1})"
    if v == "mps":
        import torch

        if not torch.backends.mps.is_available():
            return "this torch sees no MPS device; use auto or cpu"
    return None


def measure(v: str) -> str | None:
    m = re.fullmatch(r"([a-z_-]+)(?:@(\d+))?", v)
    if not m or m.group(1) not in MEASURES:
        return f"choose <measure>@k with measure one of {', '.join(MEASURES)}"
    if m.group(2) is not None and int(m.group(2)) < 1:
        return "the cut-off k must be >= 1"
    return None


def increasing_edges(v: list[int]) -> str | None:
    if not v or any(e < 1 for e in v) or any(b <= a for a, b in zip(v, v[1:])):
        return "must be positive token counts in strictly increasing order, e.g. [512, 1024, 2048]"
    return None


def template(field: str) -> Rule:
    def check(v: str):
        try:
            marked = "\0" in v.format(**{field: "\0"})
        except (KeyError, IndexError, ValueError):
            marked = False
        return None if marked else f"must contain {{{field}}} and no other {{placeholder}}"
    return check


def run_name(v: str) -> str | None:
    if not v.strip() or Path(v).is_absolute() or ".." in Path(v).parts:
        return "must be a non-empty relative name without '..'"
    return None


def shard(v: str) -> str | None:
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(v))
    return None if m and 0 <= int(m[1]) < int(m[2]) else "expected 'i/n' with 0 <= i < n, e.g. run.shard=0/4"


def lang_code(v: str) -> str | None:
    return None if LANG_CODE.fullmatch(v) else "must be a language code such as en, zh or pt-br"


def unique_langs(v: list[str]) -> str | None:
    problem = each(lang_code)(v)
    return problem or (f"lists {sorted({x for x in v if v.count(x) > 1})} twice" if len(set(v)) != len(v) else None)


def reproduces(v: dict) -> str | None:
    ok = all(isinstance(k, str) and isinstance(rows, list) and all(isinstance(r, str) for r in rows)
             for k, rows in v.items())
    return None if ok else "must map '<benchmark>/<candidates>[/<reranker>]' to a list of row names"


def hybrid_weights(v: list[float]) -> str | None:
    return None if all(w >= 0 for w in v) and any(w > 0 for w in v) else "must be non-negative, not all zero"


def _benchmarks() -> tuple[str, ...]:
    from evalkit.data import LOADERS

    return tuple(sorted(LOADERS))


def _report_formats() -> tuple[str, ...]:
    from evalkit.report.formats import FORMATS

    return tuple(FORMATS)


def _first_stages() -> tuple[str, ...]:
    from evalkit.candidates import STAGES

    return tuple(STAGES)


def _rerankers() -> tuple[str, ...]:
    """The `name:` of every configs/reranker/*.yaml (a new reranker config brings its name with it)."""
    import yaml

    folder = Path(__file__).resolve().parents[2] / "configs" / "reranker"
    names = {(yaml.safe_load(p.read_text(encoding="utf-8")) or {}).get("name") for p in folder.glob("*.yaml")}
    return tuple(sorted(n for n in names if n))


RULES: dict[str, Rule] = {
    "benchmark.name": lambda v: one_of(*_benchmarks())(v),
    "benchmark.source": optional(existing_path("directory")),
    "benchmark.corpus_source": optional(existing_path("directory")),
    "benchmark.revision": any_value,
    "benchmark.split": lambda v: None if v.strip() else "must not be empty (e.g. dev, test)",
    "benchmark.languages": optional(unique_langs),
    "benchmark.pool": one_of("full", "judged"),
    "benchmark.subset": optional(lambda v: None if v.strip() else "must name a subset (results/subsets/<name>) or a directory"),
    "benchmark.missing_docs": one_of("error", "warn"),
    "benchmark.doc_sep": any_value,
    "benchmark.format": optional(one_of("beir", "trec")),
    "benchmark.lang": optional(lang_code),
    "benchmark.cache_dir": optional(writable_dir),
    "candidates.name": lambda v: one_of(*_first_stages())(v),
    "candidates.label": run_name,
    "candidates.depth": at_least(1),
    "candidates.path": optional(existing_path("file or directory")),
    "candidates.bm25.mode": one_of("language", "anserini", "xlmr"),
    "candidates.bm25.k1": at_least(0.0, "a number"),
    "candidates.bm25.b": between(0.0, 1.0),
    "candidates.bm25.tokenizer": optional(existing_path("tokenizer directory")),
    "candidates.dense.model": optional(existing_path("model directory")),
    "candidates.dense.revision": any_value,
    "candidates.dense.pooling": one_of("cls", "mean"),
    "candidates.dense.normalize": any_value,
    "candidates.dense.max_length": at_least(1),
    "candidates.dense.query_prefix": any_value,
    "candidates.dense.doc_prefix": any_value,
    "candidates.dense.batch_tokens": at_least(1),
    "candidates.dense.dtype": one_of(*DTYPES),
    "candidates.dense.device": device,
    "candidates.dense.shard_docs": at_least(1),
    "candidates.lucene.k1": at_least(0.0, "a number"),
    "candidates.lucene.b": between(0.0, 1.0),
    "candidates.lucene.hits": at_least(1),
    "candidates.lucene.analyzers": lambda v: next((f"{k!r}: {lang_code(k)}" for k in v if lang_code(k)), None),
    "candidates.lucene.threads": at_least(0),
    "candidates.lucene.batch_docs": at_least(1),
    "candidates.lucene.batch_queries": at_least(1),
    "candidates.lucene.heap": lambda v: None if re.fullmatch(r"\d+[kmgKMG]?", v) else "a JVM heap size such as 4g or 512m",
    "candidates.lucene.memory_buffer_mb": at_least(1),
    "candidates.m3.model": optional(existing_path("model directory")),
    "candidates.m3.revision": any_value,
    "candidates.m3.mode": one_of("dense", "sparse", "multi_vec", "dense_sparse", "all"),
    "candidates.m3.weights": lambda v: None if len(v) == 3 and not hybrid_weights(v) else
    "three non-negative weights [dense, sparse, colbert], not all zero",
    "candidates.m3.max_length": at_least(1),
    "candidates.m3.query_max_length": at_least(1),
    "candidates.m3.fusion_depth": at_least(1),
    "candidates.m3.rerank_depth": at_least(1),
    "candidates.m3.window_queries": at_least(1),
    "candidates.m3.batch_tokens": at_least(1),
    "candidates.m3.dtype": one_of(*DTYPES),
    "candidates.m3.device": device,
    "candidates.m3.shard_docs": at_least(1),
    "candidates.hybrid.systems": each(one_of("bm25", "dense")),
    "candidates.hybrid.method": one_of("rrf", "wsum"),
    "candidates.hybrid.weights": optional(hybrid_weights),
    "candidates.hybrid.norm": one_of(*NORMS),
    "candidates.hybrid.depth": at_least(1),
    "candidates.hybrid.rrf_k": at_least(0),
    "reranker.name": lambda v: one_of(*_rerankers())(v),
    "reranker.model": optional(existing_path("model directory")),
    "reranker.revision": any_value,
    "reranker.max_length": optional(at_least(8)),
    "reranker.query_max_length": optional(at_least(1)),
    "reranker.query_template": template("query"),
    "reranker.doc_template": template("doc"),
    "reranker.score_transform": one_of("logit", "sigmoid"),
    "reranker.dtype": one_of(*DTYPES),
    "reranker.device": device,
    "reranker.attn_implementation": one_of("sdpa", "eager", "flash_attention_2"),
    "reranker.batch_tokens": lambda v: None if v >= 0 else "must be an integer >= 0 (0: auto)",
    "reranker.window_tokens": lambda v: None if v >= 0 else "must be an integer >= 0 (0: auto)",
    "reranker.packed": lambda v: None if str(v).lower() in ("auto", "true", "false") else "choose one of auto, true, false",
    "reranker.cache": any_value,
    "reranker.cache_path": optional(not_a_dir),
    "reranker.api.format": one_of("cohere", "jina", "voyage", "tei", "vllm", "infinity"),
    "reranker.api.base_url": optional(lambda v: None if re.match(r"https?://", v) else "must start with http:// or https://"),
    "reranker.api.model": any_value,
    "reranker.api.route": optional(one_of("rerank", "score")),
    "reranker.api.key_env": optional(lambda v: None if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", v) else
                                     "must be the NAME of an environment variable (never the key itself)"),
    "reranker.api.docs_per_request": optional(at_least(1)),
    "reranker.api.max_concurrency": at_least(1),
    "reranker.api.requests_per_minute": optional(lambda v: None if v > 0 else "must be a number > 0"),
    "reranker.api.timeout_s": lambda v: None if v > 0 else "must be a number of seconds > 0",
    "reranker.api.max_retries": at_least(0),
    "reranker.api.backoff_base_s": at_least(0.0, "a number"),
    "reranker.api.backoff_max_s": at_least(0.0, "a number"),
    "reranker.api.raw_scores": any_value,
    "reranker.api.truncate_tokens": optional(at_least(1)),
    "reranker.api.truncate": any_value,
    "reranker.api.probe_file": optional(lambda v: None if Path(v).expanduser().is_file() else "no such file"),
    "metrics.measures": each(measure),
    "metrics.bucket_edges": increasing_edges,
    "metrics.no_relevant": one_of("exclude", "zero"),
    "metrics.oracle": any_value,
    "metrics.bucket_tokenizer": lambda v: None if v == "xlmr" else existing_path("tokenizer directory")(v),
    "report.formats": lambda v: each(one_of(*_report_formats()))(v),
    "report.title": any_value,
    "report.published": any_value,
    "report.reproduces": reproduces,
    "executor.name": one_of("local", "ray"),
    "executor.address": any_value,
    "executor.num_actors": at_least(1),
    "executor.gpus_per_actor": at_least(0.0, "a number"),
    "executor.cpus_per_actor": lambda v: None if v > 0 else "must be a number > 0",
    "executor.block_pairs": at_least(1),
    "executor.window_texts": at_least(1),
    "executor.max_retries": at_least(0),
    "run.name": run_name,
    "run.seed": at_least(0),
    "run.shard": optional(shard),
    "run.overwrite": any_value,
}


REQUIRED = {"reranker.model": "reranker={reranker[name]} needs a model: reranker.model=<hub id or local directory>"}


def _path_like(v: str) -> bool:
    return v.startswith((".", "/", "~")) or Path(v).expanduser().exists()


def _get(tree: dict, key: str) -> Any:
    for part in key.split("."):
        tree = tree[part]
    return tree


def _pairs(c: dict) -> None:
    """Options that only make sense together."""
    bench, cand, rr = c["benchmark"], c["candidates"], c["reranker"]
    if rr["name"] == "api" and not (rr.get("api") or {}).get("base_url"):
        raise ConfigValueError("reranker.api.base_url", None, "reranker=api needs the endpoint: "
                               "reranker.api.base_url=http://host:port")
    if rr["name"] not in ("none", "api") and not rr["model"]:
        raise ConfigValueError("reranker.model", rr["model"], f"reranker={rr['name']} needs a model: "
                               "reranker.model=<hub id or local directory>")
    if cand["name"] == "runfile" and not cand["path"]:
        raise ConfigValueError("candidates.path", cand["path"], "candidates=runfile needs candidates.path=<run file "
                               "or directory of run.<lang>.trec files>")
    uses_dense = cand["name"] == "dense" or (cand["name"] == "hybrid" and "dense" in cand["hybrid"]["systems"])
    if uses_dense and not cand["dense"]["model"]:
        raise ConfigValueError("candidates.dense.model", None, f"candidates={cand['name']} needs a dense encoder: "
                               "candidates.dense.model=<hub id or local directory>")
    hybrid = cand["hybrid"]
    if cand["name"] == "hybrid" and hybrid["weights"] is not None and len(hybrid["weights"]) != len(hybrid["systems"]):
        raise ConfigValueError("candidates.hybrid.weights", hybrid["weights"],
                               f"needs one weight per system of candidates.hybrid.systems={hybrid['systems']}")
    if bench["name"] == "local" and not bench["source"]:
        raise ConfigValueError("benchmark.source", None, "benchmark=local needs benchmark.source=<directory>")
    if rr["max_length"] is not None and rr["query_max_length"] is not None and rr["query_max_length"] >= rr["max_length"]:
        raise ConfigValueError("reranker.query_max_length", rr["query_max_length"],
                               f"must be below reranker.max_length={rr['max_length']}")


def check_config(cfg) -> None:
    """Raise one ConfigValueError for the first value that is not allowed (a DictConfig or a plain dict)."""
    from omegaconf import DictConfig, OmegaConf
    from omegaconf.errors import MissingMandatoryValue

    if isinstance(cfg, DictConfig):
        try:
            tree = OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)
        except MissingMandatoryValue as exc:
            key = getattr(exc, "full_key", "") or "?"
            hint = REQUIRED.get(key, f"is required: set {key}=... on the command line")
            raise ConfigValueError(key, "???", hint.format(**OmegaConf.to_container(cfg))) from None
    else:
        tree = cfg
    for key, rule in RULES.items():
        try:
            value = _get(tree, key)
        except KeyError:
            continue                        # a section this config does not have
        problem = rule(value)
        if problem:
            raise ConfigValueError(key, value, problem)
    _pairs(tree)

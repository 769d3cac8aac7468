"""Every config field: a bad value stops before any work with one line naming key, value and what is allowed."""
from __future__ import annotations

import dataclasses
import typing

import pytest
from cli_runner import evalkit

from evalkit import cli
from evalkit.app.schema import schema
from evalkit.app.validate import field_checks

# one bad override per config field (a value of the wrong type where any value of the right type is allowed)
BAD = {
    "benchmark.name": "benchmark.name=miracle", "benchmark.source": "benchmark.source=/no/such/dir",
    "benchmark.corpus_source": "benchmark.corpus_source=./no/such/corpus", "benchmark.revision": "benchmark.revision=[a]",
    "benchmark.split": "benchmark.split=' '", "benchmark.languages": "benchmark.languages=[en,en]",
    "benchmark.datasets": "benchmark.datasets=[scifact,scifact]",
    "benchmark.pool": "benchmark.pool=some", "benchmark.subset": "benchmark.subset=' '",
    "benchmark.missing_docs": "benchmark.missing_docs=ignore", "benchmark.doc_sep": "benchmark.doc_sep=[x]",
    "benchmark.format": "benchmark.format=csv", "benchmark.lang": "benchmark.lang=English!",
    "benchmark.cache_dir": "benchmark.cache_dir={file}",
    "benchmark.id": "benchmark.id=' '", "benchmark.irds_module": "benchmark.irds_module=[a]",
    "benchmark.label": "benchmark.label=../up",
    "candidates.name": "candidates.name=tfidf", "candidates.label": "candidates.label=../up",
    "candidates.depth": "candidates.depth=-5", "candidates.path": "candidates.path=/no/such/run.trec",
    "candidates.bm25.mode": "candidates.bm25.mode=lucene", "candidates.bm25.k1": "candidates.bm25.k1=-1",
    "candidates.bm25.b": "candidates.bm25.b=1.5", "candidates.bm25.tokenizer": "candidates.bm25.tokenizer=/no/tok",
    "candidates.dense.model": "candidates.dense.model=/no/model", "candidates.dense.revision": "candidates.dense.revision=[1]",
    "candidates.dense.pooling": "candidates.dense.pooling=max", "candidates.dense.normalize": "candidates.dense.normalize=maybe",
    "candidates.dense.max_length": "candidates.dense.max_length=0", "candidates.dense.query_prefix": "candidates.dense.query_prefix=[q]",
    "candidates.dense.doc_prefix": "candidates.dense.doc_prefix=[d]", "candidates.dense.batch_tokens": "candidates.dense.batch_tokens=0",
    "candidates.dense.dtype": "candidates.dense.dtype=fp8", "candidates.dense.device": "candidates.dense.device=gpu",
    "candidates.dense.shard_docs": "candidates.dense.shard_docs=0", "candidates.hybrid.systems": "candidates.hybrid.systems=[bm25,splade]",
    "candidates.hybrid.method": "candidates.hybrid.method=max", "candidates.hybrid.weights": "candidates.hybrid.weights=[-1.0,1.0]",
    "candidates.hybrid.norm": "candidates.hybrid.norm=l2", "candidates.hybrid.depth": "candidates.hybrid.depth=0",
    "candidates.hybrid.rrf_k": "candidates.hybrid.rrf_k=-1",
    "candidates.lucene.k1": "candidates.lucene.k1=-0.5", "candidates.lucene.b": "candidates.lucene.b=2.0",
    "candidates.lucene.hits": "candidates.lucene.hits=0", "candidates.lucene.analyzers": "+candidates.lucene.analyzers.Bad=en",
    "candidates.lucene.threads": "candidates.lucene.threads=-2", "candidates.lucene.batch_docs": "candidates.lucene.batch_docs=0",
    "candidates.lucene.batch_queries": "candidates.lucene.batch_queries=0", "candidates.lucene.heap": "candidates.lucene.heap=lots",
    "candidates.lucene.memory_buffer_mb": "candidates.lucene.memory_buffer_mb=0",
    "candidates.m3.model": "candidates.m3.model=/no/m3", "candidates.m3.revision": "candidates.m3.revision=[r]",
    "candidates.m3.mode": "candidates.m3.mode=colbert", "candidates.m3.weights": "candidates.m3.weights=[1.0,0.3]",
    "candidates.m3.max_length": "candidates.m3.max_length=0", "candidates.m3.query_max_length": "candidates.m3.query_max_length=0",
    "candidates.m3.fusion_depth": "candidates.m3.fusion_depth=0", "candidates.m3.rerank_depth": "candidates.m3.rerank_depth=0",
    "candidates.m3.window_queries": "candidates.m3.window_queries=0", "candidates.m3.batch_tokens": "candidates.m3.batch_tokens=0",
    "candidates.m3.dtype": "candidates.m3.dtype=int4", "candidates.m3.device": "candidates.m3.device=tpu",
    "candidates.m3.shard_docs": "candidates.m3.shard_docs=0",
    "candidates.mgte.model": "candidates.mgte.model=/no/mgte", "candidates.mgte.revision": "candidates.mgte.revision=[r]",
    "candidates.mgte.mode": "candidates.mgte.mode=multi_vec", "candidates.mgte.dimension": "candidates.mgte.dimension=0",
    "candidates.mgte.weights": "candidates.mgte.weights=[1.0,0.3,1.0]",
    "candidates.mgte.max_length": "candidates.mgte.max_length=0",
    "candidates.mgte.query_max_length": "candidates.mgte.query_max_length=0",
    "candidates.mgte.fusion_depth": "candidates.mgte.fusion_depth=0", "candidates.mgte.batch_tokens": "candidates.mgte.batch_tokens=0",
    "candidates.mgte.dtype": "candidates.mgte.dtype=int4", "candidates.mgte.device": "candidates.mgte.device=tpu",
    "candidates.mgte.shard_docs": "candidates.mgte.shard_docs=0",
    "reranker.name": "reranker.name=colbert", "reranker.model": "reranker.model=./no/such/model",
    "reranker.revision": "reranker.revision=[main]", "reranker.max_length": "reranker.max_length=0",
    "reranker.query_max_length": "reranker.query_max_length=0", "reranker.query_template": "reranker.query_template=q",
    "reranker.doc_template": "reranker.doc_template='{{text}}'", "reranker.score_transform": "reranker.score_transform=softmax",
    "reranker.dtype": "reranker.dtype=fp8", "reranker.device": "reranker.device=cuda:99",
    "reranker.attn_implementation": "reranker.attn_implementation=flash", "reranker.batch_tokens": "reranker.batch_tokens=-1",
    "reranker.window_tokens": "reranker.window_tokens=-1", "reranker.packed": "reranker.packed=sometimes",
    "reranker.cache": "reranker.cache=sometimes", "reranker.backend": "reranker.backend=onnx", "reranker.cache_path": "reranker.cache_path={dir}",
    "reranker.long_docs": "reranker.long_docs=maxpool", "reranker.chunk_tokens": "reranker.chunk_tokens=0",
    "reranker.chunk_stride": "reranker.chunk_stride=-5", "reranker.chunk_title": "reranker.chunk_title=sometimes",
    "reranker.llm.instruction": "reranker.llm.instruction=[a]", "reranker.llm.prefix": "reranker.llm.prefix=text",
    "reranker.llm.query": "reranker.llm.query=Q", "reranker.llm.middle": "reranker.llm.middle=text",
    "reranker.llm.doc": "reranker.llm.doc=D", "reranker.llm.suffix": "reranker.llm.suffix=text",
    "reranker.llm.bos": "reranker.llm.bos=sometimes", "reranker.llm.yes_token": "reranker.llm.yes_token=[y]",
    "reranker.llm.no_token": "reranker.llm.no_token=[n]", "reranker.llm.cutoff_layers": "reranker.llm.cutoff_layers=[0]",
    "reranker.api.format": "reranker.api.format=openai", "reranker.api.base_url": "reranker.api.base_url=localhost:80",
    "reranker.api.model": "reranker.api.model=[m]", "reranker.api.route": "reranker.api.route=embed",
    "reranker.api.key_env": "reranker.api.key_env=sk-123", "reranker.api.docs_per_request": "reranker.api.docs_per_request=0",
    "reranker.api.max_concurrency": "reranker.api.max_concurrency=0",
    "reranker.api.requests_per_minute": "reranker.api.requests_per_minute=0",
    "reranker.api.timeout_s": "reranker.api.timeout_s=0", "reranker.api.max_retries": "reranker.api.max_retries=-1",
    "reranker.api.backoff_base_s": "reranker.api.backoff_base_s=-1", "reranker.api.backoff_max_s": "reranker.api.backoff_max_s=-1",
    "reranker.api.raw_scores": "reranker.api.raw_scores=kind-of", "reranker.api.truncate_tokens": "reranker.api.truncate_tokens=0",
    "reranker.api.truncate": "reranker.api.truncate=perhaps", "reranker.api.probe_file": "reranker.api.probe_file=/no/probe.json",
    "metrics.measures": "metrics.measures=[ndcg@10,foo@3]", "metrics.bucket_edges": "metrics.bucket_edges=[1024,512]",
    "metrics.no_relevant": "metrics.no_relevant=drop", "metrics.oracle": "metrics.oracle=perhaps",
    "metrics.bucket_tokenizer": "metrics.bucket_tokenizer=/no/tokenizer",
    "report.allow_protocol_mismatch": "report.allow_protocol_mismatch=sometimes",
    "report.formats": "report.formats=[md,pdf]", "report.title": "report.title=[t]", "report.published": "report.published=[p]",
    "report.reproduces": "report.reproduces=[a]",
    "executor.name": "executor.name=dask", "executor.address": "executor.address=[a]",
    "executor.num_actors": "executor.num_actors=0", "executor.gpus_per_actor": "executor.gpus_per_actor=-1",
    "executor.cpus_per_actor": "executor.cpus_per_actor=0", "executor.block_pairs": "executor.block_pairs=0",
    "executor.window_texts": "executor.window_texts=0", "executor.max_retries": "executor.max_retries=-1",
    "run.name": "run.name=../elsewhere", "run.seed": "run.seed=-3", "run.shard": "run.shard=4/4",
    "run.overwrite": "run.overwrite=often",
    "table.name": "table.name=../up", "table.title": "table.title=[t]", "table.published": "table.published=[p]",
    "table.system": "table.system=both", "table.tolerance": "table.tolerance=-1", "table.stand_in": "table.stand_in=often",
    "table.sources": "table.sources=[s]", "table.languages": "table.languages=[es,es]", "table.datasets": "table.datasets=[d]",
    "table.columns": "table.columns=[c]", "table.rows": "table.rows=[r]", "table.cell": "table.cell=none-chosen",
}
# options that only make sense together
PAIRS = [
    (["reranker=hf"], "reranker.model"),
    (["reranker=api"], "reranker.api.base_url"),
    (["candidates=runfile"], "candidates.path"),
    (["candidates=dense"], "candidates.dense.model"),
    (["benchmark=local"], "benchmark.source"),
    (["candidates=hybrid", "candidates.hybrid.method=wsum", "candidates.hybrid.weights=[1.0]"], "candidates.hybrid.weights"),
    (["reranker.max_length=512", "reranker.query_max_length=600"], "reranker.query_max_length"),
]


def leaf_fields(cls, prefix: str = "") -> list[str]:
    """Every leaf key of a config dataclass, recursively (the structured config's own field list)."""
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        kind = hints[f.name]
        key = f"{prefix}{f.name}"
        out += leaf_fields(kind, key + ".") if dataclasses.is_dataclass(kind) else [key]
    return out


def run_preflight(overrides: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as exit_info:
        cli.check_group_options(overrides)
        cli.preflight(overrides)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("evalkit: error: ") and "Traceback" not in err, err
    return err


def test_every_config_field_has_a_rule_and_a_bad_value():
    fields = leaf_fields(schema())
    checks = dict(field_checks(schema()))
    assert sorted(checks) == sorted(fields)
    unchecked = [key for key, check in checks.items() if not callable(check)]
    assert not unchecked, f"config fields without a check (declare them with evalkit.checks.setting): {unchecked}"
    assert sorted(fields) == sorted(BAD), "this test needs one bad value per config field"


def test_a_field_without_a_check_is_found(monkeypatch):
    """The guard above can fail: a config dataclass with a plain field is reported."""
    @dataclasses.dataclass
    class Toy:
        checked: int = __import__("evalkit.checks", fromlist=["setting"]).setting(1, lambda v: None)
        plain: int = 2

    assert dict(field_checks(Toy)) == {"checked": dict(field_checks(Toy))["checked"], "plain": None}


@pytest.mark.parametrize("key", sorted(BAD))
def test_a_bad_value_is_one_line_naming_the_key(key, capsys, tmp_path):
    (tmp_path / "file").write_text("x")
    override = BAD[key].format(file=tmp_path / "file", dir=tmp_path)
    err = run_preflight([override], capsys)
    assert key in err or key.split(".")[-1] in err, err
    value = override.split("=", 1)[1].strip("'")
    assert value.strip("[]").split(",")[-1] in err, f"the value is named: {err}"


@pytest.mark.parametrize("overrides, key", PAIRS)
def test_required_pairs(overrides, key, capsys):
    err = run_preflight(overrides, capsys)
    assert key in err, err


def test_good_values_pass(tmp_path):
    cli.preflight(["reranker=none", "candidates.depth=10", f"benchmark.cache_dir={tmp_path}",
                   "metrics.measures=[ndcg@10,map@100,r-precision]", "reranker.device=cpu"])


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="this case needs a torch without CUDA")
def test_cuda_on_cpu_torch(capsys):
    err = run_preflight(["reranker.device=cuda"], capsys)
    assert "reranker.device='cuda'" in err and "no CUDA device" in err


def test_unknown_group_option_lists_the_valid_ones(capsys):
    err = run_preflight(["benchmark=miracle"], capsys)
    assert "benchmark='miracle'" in err and "beir, irds, local, loco, miracl, mkqa, mldr, sample" in err
    err = run_preflight(["reranker=gte,bge"], capsys)   # a --multirun sweep value
    assert "reranker='bge'" in err and "bge_m3, gte, hf, jina_v2, llm, none" in err


def test_cli_bad_value_exit_2_without_traceback(tmp_path):
    proc = evalkit("metrics.no_relevant=drop", f"hydra.run.dir={tmp_path}/r", timeout=300)
    assert proc.returncode == 2
    assert proc.stderr == "evalkit: error: bad configuration: metrics.no_relevant='drop': choose one of exclude, zero\n"
    assert not (tmp_path / "r").exists()

"""reranker=api against a real Infinity server on 127.0.0.1, directly and through a fault-injecting proxy."""
from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from api_servers import SERVER_TRUNCATION, FaultProxy, Infinity, make_server_checkpoint
from cli_runner import DEVNULL, REPO, evalkit, evalkit_popen
from evalkit.errors import EvalkitError
from evalkit.rerank.api.scorer import ApiScorer
from evalkit.rerank.cache import PairCache, pair_key

KEY = "test-key-7f3c9e1d5b"          # Infinity is started with --api-key KEY; it must never reach a file
KEY_ENV = "EVALKIT_TEST_RERANK_KEY"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("infinity")
    model = make_server_checkpoint(root / "xlmr")
    srv = Infinity(model, KEY, root / "server.log")
    yield SimpleNamespace(url=srv.url, model=model, model_id=srv.model_id)
    srv.stop()


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv(KEY_ENV, KEY)


def api_cfg(url: str, **over) -> SimpleNamespace:
    base = dict(format="infinity", base_url=url, model=None, route=None, key_env=KEY_ENV, docs_per_request=None,
                max_concurrency=4, requests_per_minute=None, timeout_s=30.0, max_retries=6, backoff_base_s=0.05,
                backoff_max_s=2.0, raw_scores=True, truncate_tokens=None, truncate=None, probe_file=None)
    return SimpleNamespace(**(base | over))


def local_engine(model: Path, max_length: int = SERVER_TRUNCATION):
    from evalkit.app.schema import RerankerConfig
    from evalkit.rerank.engine import build_cross_encoder

    return build_cross_encoder(RerankerConfig(name="hf", model=str(model), max_length=max_length, device="cpu",
                                              dtype="fp32", cache=False))


def sample_pairs(n_queries: int = 12, per_query: int = 5) -> list[tuple[str, str]]:
    """Queries and documents from the bundled sample, long documents included."""
    from evalkit.config import BenchmarkConfig
    from evalkit.data import load_benchmark

    bench = load_benchmark(BenchmarkConfig(name="sample", languages=["en", "zh", "de"]))
    pairs = []
    for lang in bench.languages:
        docids = list(bench.qrels[lang][next(iter(bench.qrels[lang]))])   # some judged docids
        store_docs = [d.full_text() for d in bench.stores[lang].get(docids)]
        more = [d.full_text() for batch in bench.stores[lang].iter_docs(40) for d in batch][:per_query * 4]
        texts = (store_docs + more)[:per_query * 4]
        for i, qtext in enumerate(list(bench.queries[lang].values())[:n_queries // 3]):
            pairs += [(qtext, texts[(i + j) % len(texts)]) for j in range(per_query)]
    return pairs


def test_scores_equal_the_local_engine_in_fp32(server):
    pairs = sample_pairs()
    scorer = ApiScorer(api_cfg(server.url))
    got = scorer.score(pairs)
    want = local_engine(server.model).score(pairs)
    assert np.abs(got - want).max() < 1e-5            # measured: 2e-6 (fp32 on both sides)
    assert scorer.stats.requests == len({q for q, _ in pairs})   # one request per query
    assert scorer.settings.score_kind == "logit"
    assert scorer.server["info"]["data"][0]["id"] == server.model_id   # the self-description is fingerprinted


def test_documents_split_over_the_cap_and_mapped_back(server):
    pairs = [("one query", f"document number {i} about things") for i in range(11)]
    whole = ApiScorer(api_cfg(server.url)).score(pairs)
    split = ApiScorer(api_cfg(server.url, docs_per_request=4))
    np.testing.assert_allclose(split.score(pairs), whole, rtol=0, atol=1e-5)   # other batches: fp32 padding noise
    assert split.stats.requests == 3 and split.stats.documents == 11


def test_wrong_key_is_one_line_without_the_key(server, monkeypatch):
    monkeypatch.setenv(KEY_ENV, "not-the-key-123")
    with pytest.raises(EvalkitError) as err:
        ApiScorer(api_cfg(server.url, max_retries=0)).score([("q", "d")])
    message = str(err.value)
    assert "HTTP 401" in message and server.url in message and "\n" not in message
    assert "not-the-key-123" not in message


def test_faults_are_retried_and_scores_are_identical(server):
    pairs = sample_pairs()
    want = ApiScorer(api_cfg(server.url, max_concurrency=1)).score(pairs)   # one request per server batch:
    plan = ["429-retry-after", "500", "drop", "429-retry-after-ms", "slow", "503", "429-ratelimit-reset"]
    with FaultProxy(server.url, plan, slow_s=1.5) as proxy:
        scorer = ApiScorer(api_cfg(proxy.url, timeout_s=1.0, max_concurrency=1, max_retries=10))   # bit-identical scores
        got = scorer.score(pairs)
    assert np.array_equal(got, want)
    s = scorer.stats
    assert s.retries == len(plan)                        # one retry per injected fault
    assert s.requests == len(proxy.posts) == len({q for q, _ in pairs}) + len(plan)
    assert (s.http_429, s.http_5xx, s.connection_errors, s.timeouts) == (3, 2, 1, 1)


def test_retry_after_is_honoured(server):
    with FaultProxy(server.url, ["429-retry-after"], wait_header="0.6") as proxy:
        ApiScorer(api_cfg(proxy.url, max_concurrency=1, backoff_base_s=0.0)).score([("q", "a"), ("q", "b")])
    assert proxy.arrivals[1] - proxy.arrivals[0] >= 0.6


def test_rate_is_never_exceeded(server):
    rpm = 300                                            # one start every 0.2 s
    pairs = [(f"query {i}", f"doc {j}") for i in range(16) for j in range(3)]
    with FaultProxy(server.url, ["429-retry-after", "500"], wait_header="0") as proxy:
        ApiScorer(api_cfg(proxy.url, requests_per_minute=rpm, max_concurrency=4, backoff_base_s=0.0)).score(pairs)
    t = np.array(proxy.arrivals)
    assert len(t) == 16 + 2                              # retries take slots too
    t.sort()                                             # arrivals at the proxy (connection set-up adds jitter)
    assert t[-1] - t[0] >= (len(t) - 1) * 60 / rpm - 0.1
    for width in (1.0, 2.0, 3.0):                        # no window holds more than its share + 1
        assert max(int(((t >= a) & (t < a + width)).sum()) for a in t) <= width * rpm / 60 + 1


def cli_api(url: str, out: Path, cache: Path, *extra: str) -> list[str]:
    return ["benchmark=sample", "benchmark.languages=[en,zh,de]", "reranker=api", "reranker.api.format=infinity",
            f"reranker.api.base_url={url}", f"reranker.api.key_env={KEY_ENV}", f"reranker.cache_path={cache}",
            "reranker.api.backoff_base_s=0.05", f"hydra.run.dir={out}", *extra]


@pytest.mark.slow
def test_cli_metrics_equal_reranker_hf_and_the_key_is_nowhere(server, tmp_path):
    api = evalkit(*cli_api(server.url, tmp_path / "api", tmp_path / "cache.sqlite"), cwd=REPO, timeout=600)
    assert api.returncode == 0, api.stderr[-2000:]
    hf = evalkit("benchmark=sample", "benchmark.languages=[en,zh,de]", "reranker=hf", f"reranker.model={server.model}",
                 f"reranker.max_length={SERVER_TRUNCATION}", "reranker.cache=false", f"hydra.run.dir={tmp_path / 'hf'}",
                 cwd=REPO, timeout=600)
    assert hf.returncode == 0, hf.stderr[-2000:]
    a = json.loads((tmp_path / "api" / "metrics.json").read_text())
    b = json.loads((tmp_path / "hf" / "metrics.json").read_text())
    assert a["systems"] == b["systems"]
    stats = a["reranker_api"]
    assert stats["requests"] > 0 and stats["latency_p50_s"] > 0 and stats["billed"]["tokens"] > 0
    report = (tmp_path / "api" / "report.md").read_text()
    assert "Rerank endpoint: cost and latency" in report
    manifest = json.loads((tmp_path / "api" / "manifest.json").read_text())
    assert manifest["environment"]["reranker_stats"]["requests"] == stats["requests"]
    assert manifest["environment"]["reranker"]["key_env"] == KEY_ENV
    for path in [*(tmp_path / "api").rglob("*"), tmp_path / "cache.sqlite"]:
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path
    assert KEY not in api.stdout + api.stderr
    compared = evalkit("compare", str(tmp_path / "hf"), str(tmp_path / "api"), "--baseline", "bm25-hf",
                       "--equivalence", "1", "--out", str(tmp_path / "cmp"), "--resamples", "200", cwd=REPO,
                       timeout=600)
    assert compared.returncode == 0, compared.stderr[-2000:]
    eq = json.loads((tmp_path / "cmp" / "equivalence.json").read_text())["api"]   # titled by what differs
    assert eq["verdict_by_lang"] == "equivalent within ±1"   # points (x100), as regress
    assert all(r["equivalent"] for r in eq["by_bucket"] if r["n"] >= 2)   # a 1-query bucket cannot show it
    assert eq["transform"] == "none"                      # both logits
    assert max(r["max_abs_delta"] for r in eq["agreement"]) < 1e-5
    # the CI recipe: gate the endpoint against the weights; another system under the same protocol needs no flag
    gated = evalkit("regress", "--baseline", str(tmp_path / "hf"), "--current", str(tmp_path / "api"),
                    "--equivalence", "1", "--n-resamples", "200", cwd=REPO, timeout=600)   # points (x100)
    assert gated.returncode == 0, gated.stdout[-2000:] + gated.stderr[-2000:]
    assert "System under test changed" in gated.stdout and "reranker.endpoint" in gated.stdout
    assert "by language **equivalent within ±1**" in gated.stdout


def test_unrecoverable_failure_stops_with_one_line_after_saving(server, tmp_path):
    cache = tmp_path / "cache.sqlite"
    with FaultProxy(server.url) as proxy:
        proxy.fail_after = 5
        done = evalkit(*cli_api(proxy.url, tmp_path / "run", cache, "reranker.api.max_retries=2",
                                "reranker.api.max_concurrency=1"), cwd=REPO, timeout=600)
        answered = [d for d in proxy.answered]
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.startswith("evalkit: error")]
    assert len(lines) == 1 and f"{proxy.url}/rerank" in lines[0] and "HTTP 503" in lines[0], done.stderr[-1500:]
    assert KEY not in done.stderr
    with PairCache(cache) as c:
        rows = c.stats()["rows"]
    assert rows == sum(len(b["documents"]) for b in answered) > 0   # every answered pair was saved


def _cached_keys(cache: Path) -> set[bytes]:
    import sqlite3

    with sqlite3.connect(cache) as db:
        return {row[0] for row in db.execute("SELECT pair_key FROM scores")}


@pytest.mark.slow
def test_killed_run_resumes_without_asking_for_a_scored_pair_again(server, tmp_path):
    cache = tmp_path / "cache.sqlite"
    args = cli_api("URL", tmp_path / "run", cache, "reranker.api.max_concurrency=1")
    with FaultProxy(server.url, delay_s=0.15) as proxy:
        args[4] = f"reranker.api.base_url={proxy.url}"
        proc = evalkit_popen(*args, cwd=REPO, stdout=DEVNULL, stderr=DEVNULL)
        deadline = time.monotonic() + 300
        while len(proxy.answered) < 8 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        first, port = len(proxy.posts), proxy.server.server_address[1]
    saved = _cached_keys(cache)
    assert len(saved) > 0 and first < 40
    with FaultProxy(server.url, port=port) as proxy2:      # the same endpoint (the URL is fingerprinted)
        done = evalkit(*args, cwd=REPO, timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
        resent = [pair_key(b["query"], d) for b in proxy2.posts for d in b["documents"]]
    repeated = [k for k in resent if k in saved]
    assert repeated == []                                 # no scored pair was asked for again (counted)
    assert len(resent) + len(saved) >= len(_cached_keys(cache))
    fresh = evalkit(*cli_api(server.url, tmp_path / "fresh", tmp_path / "fresh.sqlite"), cwd=REPO, timeout=600)
    assert fresh.returncode == 0, fresh.stderr[-2000:]
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["systems"] == \
        json.loads((tmp_path / "fresh" / "metrics.json").read_text())["systems"]


@pytest.mark.slow
def test_probe_finds_the_server_truncation_within_one_step(server, tmp_path):
    from evalkit.rerank.api.probe import QUERY
    from evalkit.testing import _xlmr_tokenizer

    step = 16
    done = evalkit("probe", "--format", "infinity", "--base-url", server.url, "--key-env", KEY_ENV,
                   "--local-model", str(server.model), "--local-max-length", "1024", "--max-offset", "768",
                   "--step", str(step), "--out", str(tmp_path), cwd=REPO, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    probe = json.loads((tmp_path / "probe.json").read_text())
    # Infinity cuts the pair at the tokenizer's model_max_length (longest_first: the short query stays whole):
    # <s> query </s></s> document </s> leaves this many document tokens
    window = SERVER_TRUNCATION - len(_xlmr_tokenizer()(QUERY, add_special_tokens=False)["input_ids"]) - 4
    assert window <= probe["endpoint"]["stops_seeing_at"] < window + step
    local_window = 1024 - len(_xlmr_tokenizer()(QUERY, add_special_tokens=False)["input_ids"]) - 4
    assert probe["local"]["stops_seeing_at"] is None or probe["local"]["stops_seeing_at"] >= local_window
    assert probe["endpoint"]["requests"] == 1            # every probe document in one request
    # the report shows it beside the length buckets
    run = evalkit(*cli_api(server.url, tmp_path / "run", tmp_path / "cache.sqlite",
                           f"reranker.api.probe_file={tmp_path / 'probe.json'}"), cwd=REPO, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    report = (tmp_path / "run" / "report.md").read_text()
    assert f"stops seeing the answer at document token {probe['endpoint']['stops_seeing_at']}" in report

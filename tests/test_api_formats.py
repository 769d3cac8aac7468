"""Formats the test server does not speak, against responses built from the providers' documented schemas
(shared/reference/rerank-apis.md), and the pacing rules (Retry-After & co., backoff bounds)."""
from __future__ import annotations

import json
import random
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import httpx
import numpy as np
import pytest

from evalkit.errors import EvalkitError
from evalkit.rerank.api.pacing import retry_wait, server_wait
from evalkit.rerank.api.scorer import ApiScorer

KEY = "sk-test-0123456789"


def true_score(query: str, doc: str) -> float:
    """What the fake provider computes: distinct per pair, so a wrong index mapping shows."""
    return (len(doc) * 7 + len(query)) % 97 / 10 - 3.0


def documented(fmt: str, body: dict) -> dict | list:
    """A response as the provider documents it, sorted by score (as TEI, vLLM and the hosted APIs do)."""
    docs = body.get("documents", body.get("texts", body.get("text_2")))
    query = body.get("query", body.get("text_1"))
    scored = sorted(((i, true_score(query, d)) for i, d in enumerate(docs)), key=lambda x: -x[1])
    if fmt == "cohere":
        return {"id": "x", "results": [{"index": i, "relevance_score": s} for i, s in scored],
                "meta": {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}}}
    if fmt == "jina":
        return {"model": body["model"], "usage": {"total_tokens": 10 * len(docs)},
                "results": [{"index": i, "relevance_score": s} for i, s in scored]}
    if fmt == "voyage":
        return {"object": "list", "data": [{"index": i, "relevance_score": s} for i, s in scored],
                "model": body["model"], "usage": {"total_tokens": 5 * len(docs)}}
    if fmt == "tei":
        return [{"index": i, "score": s} for i, s in scored]
    if fmt == "vllm-rerank":
        return {"id": "r", "model": body["model"], "usage": {"prompt_tokens": 3, "total_tokens": 3 * len(docs)},
                "results": [{"index": i, "document": {"text": docs[i]}, "relevance_score": s} for i, s in scored]}
    if fmt == "vllm-score":
        return {"id": "s", "object": "list", "data": [{"index": i, "object": "score", "score": s} for i, s in scored],
                "usage": {"total_tokens": 2 * len(docs)}}
    raise AssertionError(fmt)


INFO = {"tei": ("/info", {"model_id": "BAAI/bge-reranker-v2-m3", "model_sha": "abc", "max_input_length": 8192,
                          "max_client_batch_size": 32, "auto_truncate": True, "version": "1.9.0"}),
        "vllm": ("/v1/models", {"object": "list", "data": [{"id": "m", "max_model_len": 8192, "created": 1}]})}

CASES = [  # format, route, path, expected body fields, usage key, expected score kind
    ("cohere", None, "/v2/rerank", {"model", "query", "documents", "top_n", "max_tokens_per_doc"}, "search_units",
     "normalized"),
    ("jina", None, "/v1/rerank", {"model", "query", "documents", "top_n", "return_documents"}, "tokens", "normalized"),
    ("voyage", None, "/v1/rerank", {"model", "query", "documents", "top_k", "truncation"}, "tokens", "normalized"),
    ("tei", None, "/rerank", {"query", "texts", "raw_scores", "return_text", "truncate"}, "tokens", "logit"),
    ("vllm", None, "/v1/rerank", {"model", "query", "documents", "top_n", "use_activation", "truncate_prompt_tokens"},
     "tokens", "logit"),
    ("vllm", "score", "/score", {"model", "text_1", "text_2", "use_activation", "truncate_prompt_tokens"}, "tokens",
     "logit"),
]


def api(fmt: str, **over) -> SimpleNamespace:
    base = dict(format=fmt, base_url="https://provider.test", model="m", route=None, key_env="FAKE_RERANK_KEY",
                docs_per_request=3, max_concurrency=2, requests_per_minute=None, timeout_s=5.0, max_retries=2,
                backoff_base_s=0.0, backoff_max_s=0.0, raw_scores=True, truncate_tokens=None, truncate=None)
    return SimpleNamespace(**(base | over))


@pytest.mark.parametrize("fmt, route, path, fields, usage_key, kind", CASES)
def test_documented_schemas(fmt, route, path, fields, usage_key, kind, monkeypatch):
    monkeypatch.setenv("FAKE_RERANK_KEY", KEY)
    seen = []
    name = {"score": "vllm-score"}.get(route, "vllm-rerank" if fmt == "vllm" else fmt)

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == f"Bearer {KEY}"
        if request.method == "GET":
            info_path, info = INFO[fmt]
            assert request.url.path == info_path
            return httpx.Response(200, json=info)
        assert request.url.path == path
        body = json.loads(request.content)
        seen.append(body)
        return httpx.Response(200, json=documented(name, body), headers={"x-compute-tokens": "11"})

    extra = {"truncate_tokens": 512} if fmt in ("cohere", "vllm") else {"truncate": True} if fmt in ("voyage", "tei") else {}
    scorer = ApiScorer(api(fmt, route=route, **extra), transport=httpx.MockTransport(handler))
    pairs = [("q1", "a" * n) for n in range(1, 8)] + [("q2", "b" * n) for n in (3, 9)]
    got = scorer.score(pairs)
    np.testing.assert_allclose(got, [true_score(q, d) for q, d in pairs], atol=1e-6)   # mapped back by index
    assert all(set(b) == fields for b in seen), seen[0]
    assert [len(b.get("documents", b.get("texts", b.get("text_2")))) for b in seen] == [3, 3, 1, 2]   # cap of 3
    assert scorer.stats.requests == 4 and scorer.stats.documents == 9
    assert scorer.settings.score_kind == kind
    want_usage = {"search_units": 4.0} if fmt == "cohere" else None
    if want_usage:
        assert scorer.stats.billed == want_usage
    else:
        assert scorer.stats.billed[usage_key] > 0
    assert KEY not in json.dumps(scorer.provenance) + json.dumps(scorer.report())


def test_server_self_description_is_in_the_fingerprint(monkeypatch):
    monkeypatch.setenv("FAKE_RERANK_KEY", KEY)

    def server(sha: str, created: int):
        def handler(request):
            if request.method == "GET":
                return httpx.Response(200, json={**INFO["tei"][1], "model_sha": sha, "created": created})
            return httpx.Response(200, json=documented("tei", json.loads(request.content)))
        return httpx.MockTransport(handler)

    a = ApiScorer(api("tei"), transport=server("abc", 1)).fingerprint
    assert a == ApiScorer(api("tei"), transport=server("abc", 2)).fingerprint      # timestamps are not identity
    assert a != ApiScorer(api("tei"), transport=server("def", 1)).fingerprint      # a changed model is
    assert a != ApiScorer(api("tei", raw_scores=False), transport=server("abc", 1)).fingerprint
    assert a != ApiScorer(api("tei", base_url="https://other.test"), transport=server("abc", 1)).fingerprint


def test_a_response_missing_documents_is_an_error(monkeypatch):
    monkeypatch.setenv("FAKE_RERANK_KEY", KEY)

    def handler(request):
        body = json.loads(request.content)
        return httpx.Response(200, json={"results": [{"index": 0, "relevance_score": 0.5}],
                                         "meta": {}} if len(body["documents"]) > 1 else {})
    with pytest.raises(EvalkitError, match=r"https://provider.test/v2/rerank.*lacks 2 of 3"):
        ApiScorer(api("cohere"), transport=httpx.MockTransport(handler)).score([("q", "a"), ("q", "b"), ("q", "c")])


def test_misconfiguration_is_named():
    with pytest.raises(EvalkitError, match="reranker.api.truncate_tokens"):
        ApiScorer(api("tei", key_env=None, truncate_tokens=100))
    with pytest.raises(EvalkitError, match="FAKE_UNSET_VAR is not set"):
        ApiScorer(api("cohere", key_env="FAKE_UNSET_VAR"))
    with pytest.raises(EvalkitError, match="reranker.api.format"):
        ApiScorer(api("openai", key_env=None))
    with pytest.raises(EvalkitError, match="reranker.api.base_url"):
        ApiScorer(api("cohere", key_env=None, base_url=None))


def test_server_wait_headers():
    now = 1_800_000_000.0
    assert server_wait({"retry-after-ms": "250"}, now) == 0.25
    assert server_wait({"retry-after": "3"}, now) == 3.0
    date = format_datetime(datetime.fromtimestamp(now, timezone.utc) + timedelta(seconds=7), usegmt=True)
    assert server_wait({"retry-after": date}, now) == pytest.approx(7.0)
    assert server_wait({"x-ratelimit-reset": "2.5"}, now) == 2.5                  # seconds from now
    assert server_wait({"x-ratelimit-reset": str(now + 4)}, now) == pytest.approx(4.0)   # a Unix time
    assert server_wait({"retry-after-ms": "100", "retry-after": "9"}, now) == 0.1   # the most precise first
    assert server_wait({}, now) is None and server_wait({"retry-after": "soon"}, now) is None


def test_retry_wait_bounds():
    rng = random.Random(0)
    waits = [retry_wait(3, None, 1.0, 60.0, rng) for _ in range(2000)]
    assert 0 <= min(waits) and max(waits) <= 8.0 and np.mean(waits) == pytest.approx(4.0, rel=0.1)   # U(0, 8)
    assert all(retry_wait(20, None, 1.0, 60.0, rng) <= 60 for _ in range(100))                         # capped
    asked = [retry_wait(0, {"retry-after": "2"}, 1.0, 60.0, rng) for _ in range(100)]
    assert 2.0 <= min(asked) and max(asked) <= 2.2                                                     # + <=10%
    assert retry_wait(0, {"retry-after": "600"}, 1.0, 60.0, rng) <= 66.0


class Counted:
    """A Progress stand-in: the updates it got, in order."""

    def __init__(self):
        self.updates: list[int] = []

    def update(self, n: int = 1, cost: float = 0.0) -> None:
        self.updates.append(n)


def test_progress_counts_each_request_as_it_is_answered(monkeypatch):
    """Per request, not per window: the repeat of a pair counts at once (it needs no request), then each
    answered request adds its documents; score_chunks leaves the counting to the scorer."""
    from evalkit.rerank.stream import score_chunks

    monkeypatch.setenv("FAKE_RERANK_KEY", KEY)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=documented("cohere", json.loads(request.content)))

    scorer = ApiScorer(api("cohere", max_concurrency=1), transport=httpx.MockTransport(handler))
    pairs = [("q1", "a" * n) for n in range(1, 8)] + [("q1", "a")]      # 7 unique pairs of q1, then a repeat
    counted = Counted()
    scorer.score(pairs, progress=counted)
    assert counted.updates == [1, 3, 3, 1]                              # the repeat, then requests of 3, 3, 1
    counted = Counted()
    chunks = [pairs[:4], pairs[4:]]
    out = list(score_chunks(scorer, chunks, counted))
    assert [len(s) for s in out] == [4, 4] and sum(counted.updates) == len(pairs) and len(counted.updates) == 4

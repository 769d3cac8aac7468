"""reranker=api: a `Scorer` over a rerank endpoint, through the same pair cache as the local weights.

All candidates of a query go in one request (split over the provider's documents-per-request cap) and come back
by index; each answered request is written to the pair cache at once, so a killed or failed run resumes without
asking for a scored pair again. The fingerprint names the format, endpoint, route, model, truncation settings,
score kind, templates and what the server says about itself (TEI /info, vLLM /v1/models, Infinity /models).
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from evalkit.errors import EvalkitError
from evalkit.progress import Progress
from evalkit.rerank.api.adapters import Adapter, Options, ResponseError, make_adapter
from evalkit.rerank.api.client import ApiClient, ApiFailure, ApiStats
from evalkit.rerank.cache import PairCache
from evalkit.rerank.engine import cached_scores

log = logging.getLogger(__name__)
VOLATILE = {"created", "stats", "uptime", "queue_fraction", "queue_absolute", "results_pending"}


@dataclass(frozen=True)
class ApiSettings:
    """What cached_scores reads (templates) plus the endpoint's settings, as recorded in reports."""
    format: str
    base_url: str
    route: str
    model: str | None
    query_template: str = "{query}"
    doc_template: str = "{doc}"
    docs_per_request: int = 1000
    max_concurrency: int = 4
    requests_per_minute: float | None = None
    timeout_s: float = 60.0
    max_retries: int = 6
    score_kind: str = "normalized"
    max_length: int | None = None     # no local truncation: the endpoint decides (see `truncation`)
    dtype: str | None = None


def _stable(node: Any) -> Any:
    """A server self-description without its counters and timestamps."""
    if isinstance(node, dict):
        return {k: _stable(v) for k, v in sorted(node.items()) if k not in VOLATILE}
    if isinstance(node, list):
        return [_stable(v) for v in node]
    return node


class ApiScorer:
    """A `Scorer`: score(pairs) -> float32 scores in input order."""

    def __init__(self, api: Any, *, query_template: str = "{query}", doc_template: str = "{doc}",
                 cache: PairCache | None = None, seed: int | None = None, transport: Any = None):
        if not api.base_url:
            raise EvalkitError("reranker.api.base_url: required for reranker=api (e.g. http://127.0.0.1:7997)")
        if api.max_concurrency < 1:
            raise EvalkitError(f"reranker.api.max_concurrency: {api.max_concurrency} must be >= 1")
        key = None
        if api.key_env:
            key = os.environ.get(api.key_env)
            if not key:
                raise EvalkitError(f"reranker.api.key_env: environment variable {api.key_env} is not set")
        self.adapter: Adapter = make_adapter(api.format, api.route, Options(
            model=api.model, raw_scores=api.raw_scores, truncate_tokens=api.truncate_tokens, truncate=api.truncate))
        per_request = api.docs_per_request or self.adapter.max_docs
        if per_request < 1:
            raise EvalkitError(f"reranker.api.docs_per_request: {per_request} must be >= 1")
        if per_request > self.adapter.max_docs:
            log.warning("reranker.api.docs_per_request=%d exceeds %s's documented cap of %d",
                        per_request, api.format, self.adapter.max_docs)
        self.settings = ApiSettings(
            format=api.format, base_url=api.base_url.rstrip("/"), route=self.adapter.path, model=api.model,
            query_template=query_template, doc_template=doc_template, docs_per_request=per_request,
            max_concurrency=api.max_concurrency, requests_per_minute=api.requests_per_minute,
            timeout_s=api.timeout_s, max_retries=api.max_retries, score_kind=self.adapter.score_kind())
        self.stats = ApiStats()
        self.client = ApiClient(self.settings.base_url, key, timeout_s=api.timeout_s, max_retries=api.max_retries,
                                backoff_base_s=api.backoff_base_s, backoff_max_s=api.backoff_max_s,
                                requests_per_minute=api.requests_per_minute, stats=self.stats, seed=seed,
                                transport=transport)
        self.cache = cache
        self.server = self._server_info()
        self.info = {"kind": "api", "format": api.format, "endpoint": self.settings.base_url + self.adapter.path,
                     "model": api.model, "score_kind": self.settings.score_kind,
                     "truncation": self.adapter.truncation(), "server": self.server,
                     "key_env": api.key_env}   # the variable's NAME only
        self.fingerprint = self._fingerprint()

    def _server_info(self) -> dict[str, Any]:
        path = self.adapter.info_path
        if path is None:
            return {"self_description": None}
        payload, why = self.client.get_json(path)
        if payload is None and why and "HTTP" not in why:
            raise EvalkitError(f"reranker.api.base_url: cannot reach the server ({why})")
        return {"self_description": path, "info": _stable(payload)} if payload is not None else \
            {"self_description": path, "unavailable": why}

    def _fingerprint(self) -> str:
        s = self.settings
        parts = {"kind": "api", "format": s.format, "base_url": s.base_url, "route": s.route, "model": s.model,
                 "truncation": self.adapter.truncation(), "score_kind": s.score_kind, "server": self.server,
                 "query_template": s.query_template, "doc_template": s.doc_template}
        return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()

    @property
    def provenance(self) -> dict[str, Any]:
        return {**self.info, "settings": asdict(self.settings), "fingerprint": self.fingerprint}

    def expected_requests(self, pairs: Sequence[tuple[str, str]]) -> int:
        per_query: dict[str, int] = {}
        for q, _ in pairs:
            per_query[q] = per_query.get(q, 0) + 1
        return sum(math.ceil(n / self.settings.docs_per_request) for n in per_query.values())

    def score(self, pairs: Sequence[tuple[str, str]], progress: Progress | None = None) -> np.ndarray:
        """Scores in input order; `progress` counts pairs as each request's answer arrives."""
        return cached_scores(pairs, self.settings, self.cache, self.fingerprint, self.stats,
                             lambda raw, templated, keys: self._score_missing(templated, keys, progress), progress)

    def _requests(self, pairs: list[tuple[str, str]]) -> Iterator[tuple[str, list[int]]]:
        """(query, positions of its documents) per request: a query's pairs together, cut at the cap."""
        by_query: dict[str, list[int]] = {}
        for i, (q, _) in enumerate(pairs):
            by_query.setdefault(q, []).append(i)
        step = self.settings.docs_per_request
        for q, where in by_query.items():
            for start in range(0, len(where), step):
                yield q, where[start:start + step]

    def _score_missing(self, pairs: list[tuple[str, str]], keys: list[bytes],
                       progress: Progress | None = None) -> np.ndarray:
        out = np.full(len(pairs), np.nan, dtype=np.float32)
        log.info("reranker.api: %d pairs in %d requests to %s%s", len(pairs), self.expected_requests(pairs),
                 self.settings.base_url, self.adapter.path)
        start = time.perf_counter()
        try:
            asyncio.run(self._run(pairs, keys, out, progress))
        finally:
            self.stats.request_seconds += time.perf_counter() - start
        return out

    async def _run(self, pairs: list[tuple[str, str]], keys: list[bytes], out: np.ndarray,
                   progress: Progress | None = None) -> None:
        work = self._requests(pairs)
        stop, failures = asyncio.Event(), []

        async def worker() -> None:
            for query, where in work:   # one shared iterator: at most max_concurrency requests built at once
                if stop.is_set():
                    return
                docs = [pairs[i][1] for i in where]
                try:
                    payload, headers = await self.client.post(http, self.adapter.path,
                                                              self.adapter.body(query, docs), stop)
                    scores = self.adapter.scores(payload, len(docs))
                except asyncio.CancelledError:
                    return
                except ResponseError as exc:
                    failures.append(ApiFailure(f"reranker.api: POST {self.info['endpoint']}: {exc}"))
                    stop.set()
                    return
                except EvalkitError as exc:
                    failures.append(exc)
                    stop.set()
                    return
                out[where] = scores
                if self.cache is not None:
                    self.cache.put_many(self.fingerprint, ((keys[i], s) for i, s in zip(where, scores)))
                self.stats.documents += len(docs)
                if progress is not None:
                    progress.update(len(docs))
                for name, value in self.adapter.usage(payload, headers).items():
                    self.stats.billed[name] = self.stats.billed.get(name, 0.0) + value

        async with self.client.http(self.settings.max_concurrency) as http:
            await asyncio.gather(*(worker() for _ in range(self.settings.max_concurrency)))
        if failures:
            exc = failures[0]
            scored = int(np.isfinite(out).sum())
            saved = "saved in the pair cache" if self.cache is not None else "not cached (reranker.cache=false)"
            raise ApiFailure(f"{exc} [{scored} of {len(pairs)} pairs scored before it, {saved}]") from None

    def report(self) -> dict[str, Any]:
        """Cost and latency for report.md and metrics.json."""
        return {"endpoint": self.info["endpoint"], "model": self.settings.model, "score_kind": self.settings.score_kind,
                "truncation": self.info["truncation"], **asdict(self.stats)}


def build_api_scorer(cfg: Any, cache_dir: str | Path | None = None) -> ApiScorer:
    """An ApiScorer from an evalkit.config.RerankerConfig (reranker=api)."""
    from evalkit.data.docstore import default_cache_dir

    cache = None
    if cfg.cache:
        root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        cache = PairCache(cfg.cache_path or root / "pair_scores.sqlite")
    return ApiScorer(cfg.api, query_template=cfg.query_template, doc_template=cfg.doc_template, cache=cache)

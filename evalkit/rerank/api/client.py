"""The HTTP side of reranker=api: one POST with pacing, retries and accounting; the key stays in memory only.

Errors name the endpoint and the status, never a header: the key is sent as `Authorization: Bearer ...` and
scrubbed from any response text quoted in an error.
"""
from __future__ import annotations

import asyncio
import logging
import random
import time
from array import array
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np

from evalkit.errors import EvalkitError
from evalkit.rerank.api.pacing import RateLimiter, retry_wait, retryable
from evalkit.rerank.engine import ScoreStats

log = logging.getLogger(__name__)
TRANSIENT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


class ApiFailure(EvalkitError):
    """An unrecoverable API error (one line: endpoint, status, attempts)."""


@dataclass
class ApiStats(ScoreStats):
    """Counters of one scorer: cached_scores' plus the HTTP side's."""
    requests: int = 0                 # HTTP attempts, retries included
    retries: int = 0
    http_429: int = 0
    http_5xx: int = 0
    timeouts: int = 0
    connection_errors: int = 0        # dropped or refused connections, truncated responses
    documents: int = 0                # documents in successful requests
    billed: dict[str, float] = field(default_factory=dict)   # summed usage (tokens, search_units, ...)
    latency_p50_s: float | None = None
    latency_p95_s: float | None = None
    latency_p99_s: float | None = None
    request_seconds: float = 0.0      # wall time spent in the HTTP stage

    def __post_init__(self) -> None:
        self._latencies = array("d")  # successful requests only; one float per request

    def record_latency(self, seconds: float) -> None:
        self._latencies.append(seconds)
        p50, p95, p99 = np.percentile(np.frombuffer(self._latencies, dtype=np.float64), [50, 95, 99])
        self.latency_p50_s, self.latency_p95_s, self.latency_p99_s = (round(float(v), 6) for v in (p50, p95, p99))


class ApiClient:
    def __init__(self, base_url: str, key: str | None, *, timeout_s: float, max_retries: int, backoff_base_s: float,
                 backoff_max_s: float, requests_per_minute: float | None, stats: ApiStats, seed: int | None = None,
                 transport: httpx.AsyncBaseTransport | None = None):
        self.base_url = base_url.rstrip("/")
        self._key = key
        self.timeout_s, self.max_retries = timeout_s, max_retries
        self.backoff = (backoff_base_s, backoff_max_s)
        self.limiter = RateLimiter(requests_per_minute)
        self.stats = stats
        self._rng = random.Random(seed)
        self._transport = transport   # tests: an httpx.MockTransport answering from the documented schemas

    def _headers(self) -> dict[str, str]:
        headers = {"content-type": "application/json", "accept": "application/json"}
        if self._key:
            headers["authorization"] = f"Bearer {self._key}"
        return headers

    def scrub(self, text: str) -> str:
        text = " ".join(text.split())[:200]
        return text.replace(self._key, "***") if self._key else text

    def http(self, max_connections: int) -> httpx.AsyncClient:
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        return httpx.AsyncClient(timeout=self.timeout_s, limits=limits, headers=self._headers(),
                                 transport=self._transport)

    async def post(self, http: httpx.AsyncClient, path: str, body: dict, stop: asyncio.Event) -> tuple[Any, Any]:
        """(JSON payload, headers) of a 2xx answer; retries what may pass; raises ApiFailure otherwise."""
        url = self.base_url + path
        for attempt in range(self.max_retries + 1):
            if stop.is_set():
                raise asyncio.CancelledError
            await self.limiter.acquire()
            self.stats.requests += 1
            self.stats.retries += attempt > 0
            start = time.perf_counter()
            headers, what = None, ""
            try:
                response = await http.post(url, json=body)
            except httpx.TimeoutException:
                self.stats.timeouts += 1
                what = f"timeout after {self.timeout_s:g} s"
            except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                self.stats.connection_errors += 1
                what = f"connection error ({type(exc).__name__})"
            else:
                status, headers = response.status_code, response.headers
                if 200 <= status < 300:
                    try:
                        payload = response.json()
                    except ValueError:
                        raise ApiFailure(f"reranker.api: POST {url} returned HTTP {status} with a body that is not "
                                         f"JSON: {self.scrub(response.text)!r}") from None
                    self.stats.record_latency(time.perf_counter() - start)
                    return payload, headers
                self.stats.http_429 += status == 429
                self.stats.http_5xx += 500 <= status < 600
                what = f"HTTP {status}"
                if not retryable(status):
                    raise ApiFailure(f"reranker.api: POST {url} failed: {what} (not retried): "
                                     f"{self.scrub(response.text)!r}")
            if attempt == self.max_retries:
                break
            wait = retry_wait(attempt, headers, *self.backoff, self._rng)
            log.info("reranker.api: %s from %s; retry %d/%d in %.2f s", what, url, attempt + 1, self.max_retries, wait)
            try:   # a failure elsewhere ends the wait at once
                await asyncio.wait_for(stop.wait(), wait)
                raise asyncio.CancelledError
            except TimeoutError:
                pass
        raise ApiFailure(f"reranker.api: POST {url} failed: {what} after {self.max_retries + 1} attempts "
                         f"(reranker.api.max_retries={self.max_retries})")

    def get_json(self, path: str) -> tuple[Any, str | None]:
        """GET a self-description endpoint once (payload, None) or (None, why not)."""
        url = self.base_url + path
        try:
            with httpx.Client(transport=self._transport, timeout=self.timeout_s) as http:   # type: ignore[arg-type]
                response = http.get(url, headers=self._headers())
        except httpx.HTTPError as exc:
            return None, f"GET {url}: {type(exc).__name__}"
        if response.status_code != 200:
            return None, f"GET {url}: HTTP {response.status_code}"
        try:
            return response.json(), None
        except ValueError:
            return None, f"GET {url}: not JSON"

"""How fast and how often to call: a requests-per-minute limiter and the wait before a retry.

The limiter spaces request starts at least 60 / rpm seconds apart (no bursts), so no window of any length holds
more than its share of the configured rate plus one; every attempt, retries included, takes a slot.
A retry waits what the server asked for (`retry-after-ms`, `Retry-After` in seconds or as an HTTP date,
`X-RateLimit-Reset` as seconds or a Unix time), capped, plus up to 10% jitter; without such a header it waits
full-jitter exponential backoff, U(0, min(cap, base * 2^attempt)).
"""
from __future__ import annotations

import asyncio
import random
import time
from email.utils import parsedate_to_datetime
from typing import Mapping

RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})   # and any other 5xx


def retryable(status: int) -> bool:
    return status in RETRY_STATUS or 500 <= status < 600


class RateLimiter:
    def __init__(self, requests_per_minute: float | None):
        if requests_per_minute is not None and requests_per_minute <= 0:
            from evalkit.errors import EvalkitError

            raise EvalkitError(f"reranker.api.requests_per_minute: {requests_per_minute} must be > 0 (or null)")
        self.interval = 60.0 / requests_per_minute if requests_per_minute else 0.0
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        if not self.interval:
            return
        async with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            await asyncio.sleep(start - now)


def server_wait(headers: Mapping[str, str] | None, now: float | None = None) -> float | None:
    """Seconds the server asked us to wait, if it said so."""
    if not headers:
        return None
    now = time.time() if now is None else now
    value = headers.get("retry-after-ms")
    if value:
        try:
            return max(0.0, float(value) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                return max(0.0, parsedate_to_datetime(value).timestamp() - now)
            except (TypeError, ValueError, IndexError):
                pass
    value = headers.get("x-ratelimit-reset")
    if value:
        try:
            reset = float(value)
        except ValueError:
            return None
        return max(0.0, reset - now) if reset > 1e9 else max(0.0, reset)   # a Unix time, or seconds from now
    return None


def retry_wait(attempt: int, headers: Mapping[str, str] | None, base: float, cap: float,
               rng: random.Random) -> float:
    """The wait before retry number `attempt` (0-based)."""
    asked = server_wait(headers)
    if asked is not None:
        return min(cap, asked) * (1 + 0.1 * rng.random())
    return rng.uniform(0, min(cap, base * 2 ** attempt))

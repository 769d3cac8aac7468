"""reranker.backend=api: hosted and self-hosted rerank endpoints (Cohere, Jina, Voyage, TEI, vLLM, Infinity),
scored through the same pair cache as local weights (adapters.py: request/response formats; client.py: HTTP,
retries, pacing; scorer.py: the Scorer)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from evalkit.checks import ConfigValueError, any_value, at_least, one_of, optional, setting
from evalkit.rerank import RERANKERS
from evalkit.registry import Needs
from evalkit.rerank.api.adapters import FORMATS, ROUTES


@dataclass
class ApiConfig:
    format: str = setting("cohere", one_of(*FORMATS))   # cohere | jina | voyage | tei | vllm | infinity
    # e.g. https://api.cohere.com or http://127.0.0.1:7997
    base_url: Optional[str] = setting(None, optional(lambda v: None if re.match(r"https?://", v) else
                                                     "must start with http:// or https://"))
    model: Optional[str] = setting(None, any_value)   # the provider's model name (sent in the request body)
    route: Optional[str] = setting(None, optional(one_of(*sorted({r for _, r in ROUTES}))))   # vllm: rerank | score
    # NAME of the environment variable holding the key (never the key)
    key_env: Optional[str] = setting(None, optional(lambda v: None if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", v)
                                                    else "must be the NAME of an environment variable "
                                                         "(never the key itself)"))
    docs_per_request: Optional[int] = setting(None, optional(at_least(1)))   # None: the provider's documented cap
    max_concurrency: int = setting(4, at_least(1))   # requests in flight
    # None: no limit; retries count too
    requests_per_minute: Optional[float] = setting(None, optional(lambda v: None if v > 0 else "must be a number > 0"))
    timeout_s: float = setting(60.0, lambda v: None if v > 0 else "must be a number of seconds > 0")   # per request
    max_retries: int = setting(6, at_least(0))   # on 429, 408, 409, 5xx, timeouts, dropped connections
    # full-jitter exponential backoff: U(0, min(max, base * 2^n))
    backoff_base_s: float = setting(1.0, at_least(0.0, "a number"))
    backoff_max_s: float = setting(60.0, at_least(0.0, "a number"))   # also caps Retry-After waits
    raw_scores: bool = setting(True, any_value)   # ask for logits where offered (tei, infinity raw_scores; vllm)
    truncate_tokens: Optional[int] = setting(None, optional(at_least(1)))   # cohere max_tokens_per_doc | vllm
    truncate: Optional[bool] = setting(None, any_value)   # voyage truncation | tei truncate (None: the default)
    # probe.json of `evalkit probe`, shown next to the length buckets
    probe_file: Optional[str] = setting(None, optional(lambda v: None if Path(v).expanduser().is_file()
                                                       else "no such file"))


def _requires(tree: dict) -> None:
    if not (tree["reranker"].get("api") or {}).get("base_url"):
        raise ConfigValueError("reranker.api.base_url", None, "reranker=api needs the endpoint: "
                               "reranker.api.base_url=http://host:port")
    long_docs = tree["reranker"].get("long_docs", "truncate")
    if long_docs != "truncate":   # an endpoint truncates (or chunks) on its side: see reranker.api.truncate*
        raise ConfigValueError("reranker.long_docs", long_docs, "reranker=api sends whole documents (the endpoint "
                               "cuts them: reranker.api.truncate_tokens); chunking runs with local models only")


@RERANKERS.register("api", config=ApiConfig, requires=_requires, needs=Needs(modules={"httpx": "httpx"}))
def api_reranker(reranker: Any, executor: Any):
    """A hosted or self-hosted rerank endpoint (cohere, jina, voyage, tei, vllm, infinity formats)."""
    from evalkit.rerank.api.scorer import build_api_scorer

    return build_api_scorer(reranker)

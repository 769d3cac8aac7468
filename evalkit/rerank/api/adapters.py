"""One small adapter per rerank API dialect: the request body, the route, and how to read scores and usage back.

Schemas are the providers' documented ones (shared/reference/rerank-apis.md): Cohere v2 `/v2/rerank`, Jina
`/v1/rerank`, Voyage `/v1/rerank` (`top_k`, `data`), TEI `/rerank` (`texts`, bare list, `score`), vLLM `/v1/rerank`
(Jina/Cohere-like) and `/score` (`text_1`/`text_2`, `data[].score`), Infinity `/rerank`. Responses are read back
by `index`, never by position (TEI and vLLM sort by score).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from evalkit.errors import EvalkitError

NORMALIZED, LOGIT, SIGMOID = "normalized", "logit", "sigmoid"


class ResponseError(EvalkitError):
    """A 2xx response whose body does not hold one score per document sent."""


@dataclass(frozen=True)
class Options:
    """The request settings an adapter may use (from reranker.api)."""
    model: str | None
    raw_scores: bool = True
    truncate_tokens: int | None = None
    truncate: bool | None = None


class Adapter:
    name = ""
    path = ""
    info_path: str | None = None      # GET endpoint describing the served model (recorded in the fingerprint)
    max_docs = 1000                   # documents per request (the provider's documented cap or recommendation)
    doc_key = "documents"
    allowed: tuple[str, ...] = ()     # which of truncate_tokens / truncate the API has a field for
    sends_model = True                # TEI serves one model and has no `model` field

    def __init__(self, options: Options):
        for key in ("truncate_tokens", "truncate"):
            if getattr(options, key) is not None and key not in self.allowed:
                raise EvalkitError(f"reranker.api.{key}: the {self.name} API has no such request field "
                                   f"({'it accepts ' + ', '.join(self.allowed) if self.allowed else 'none'})")
        self.options = options

    def score_kind(self) -> str:
        return NORMALIZED

    def body(self, query: str, docs: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {"query": query, self.doc_key: docs}
        if self.options.model and self.sends_model:
            out["model"] = self.options.model
        return out | self.extra(len(docs))

    def extra(self, n: int) -> dict[str, Any]:
        return {}

    def truncation(self) -> dict[str, Any]:
        """What decides where the endpoint stops reading, as sent (None: the provider's default)."""
        return {k: getattr(self.options, k) for k in self.allowed}

    def rows(self, payload: Any) -> list[dict]:
        rows = payload.get("results", payload.get("data")) if isinstance(payload, dict) else payload
        if not isinstance(rows, list):
            raise ResponseError(f"{self.name} response has no results list")
        return rows

    def scores(self, payload: Any, n: int) -> list[float]:
        """Scores in the order the documents were sent; every index 0..n-1 exactly once."""
        out: list[float | None] = [None] * n
        for row in self.rows(payload):
            index = row.get("index")
            score = row.get("relevance_score", row.get("score"))
            if not isinstance(index, int) or not 0 <= index < n or out[index] is not None or score is None:
                raise ResponseError(f"{self.name} response: bad or repeated index {index!r} for {n} documents")
            out[index] = float(score)
        missing = [i for i, s in enumerate(out) if s is None]
        if missing:
            raise ResponseError(f"{self.name} response lacks {len(missing)} of {n} documents (first index {missing[0]})")
        return out   # type: ignore[return-value]

    def usage(self, payload: Any, headers: Any) -> dict[str, float]:
        """Billed units the response reports (tokens; Cohere search units)."""
        usage = payload.get("usage") if isinstance(payload, dict) else None
        tokens = (usage or {}).get("total_tokens")
        return {"tokens": float(tokens)} if isinstance(tokens, (int, float)) else {}


class Cohere(Adapter):
    name, path, max_docs, allowed = "cohere", "/v2/rerank", 1000, ("truncate_tokens",)

    def extra(self, n: int) -> dict[str, Any]:
        t = self.options.truncate_tokens
        return {"top_n": n} | ({"max_tokens_per_doc": t} if t is not None else {})

    def truncation(self) -> dict[str, Any]:
        t = self.options.truncate_tokens
        return {"max_tokens_per_doc": t if t is not None else "provider default (4096)"}

    def usage(self, payload: Any, headers: Any) -> dict[str, float]:
        billed = ((payload.get("meta") or {}).get("billed_units") or {}) if isinstance(payload, dict) else {}
        return {k: float(v) for k, v in billed.items() if isinstance(v, (int, float))}


class Jina(Adapter):
    name, path, max_docs = "jina", "/v1/rerank", 1000

    def truncation(self) -> dict[str, Any]:
        return {"server": "undocumented (no request field)"}

    def extra(self, n: int) -> dict[str, Any]:
        return {"top_n": n, "return_documents": False}   # Jina echoes documents unless told not to


class Voyage(Adapter):
    name, path, max_docs, allowed = "voyage", "/v1/rerank", 1000, ("truncate",)

    def extra(self, n: int) -> dict[str, Any]:
        return {"top_k": n} | ({"truncation": self.options.truncate} if self.options.truncate is not None else {})


class Tei(Adapter):
    name, path, info_path, max_docs, doc_key, allowed = "tei", "/rerank", "/info", 32, "texts", ("truncate",)
    sends_model = False

    def score_kind(self) -> str:
        return LOGIT if self.options.raw_scores else SIGMOID

    def extra(self, n: int) -> dict[str, Any]:
        t = self.options.truncate
        return {"raw_scores": self.options.raw_scores, "return_text": False} | ({"truncate": t} if t is not None else {})

    def usage(self, payload: Any, headers: Any) -> dict[str, float]:
        tokens = headers.get("x-compute-tokens") if headers is not None else None
        return {"tokens": float(tokens)} if tokens and tokens.isdigit() else {}


class Vllm(Adapter):
    name, path, info_path, max_docs, allowed = "vllm", "/v1/rerank", "/v1/models", 1000, ("truncate_tokens",)

    def score_kind(self) -> str:
        return LOGIT if self.options.raw_scores else SIGMOID

    def extra(self, n: int) -> dict[str, Any]:
        t = self.options.truncate_tokens
        return {"top_n": n, "use_activation": not self.options.raw_scores} | \
            ({"truncate_prompt_tokens": t} if t is not None else {})


class VllmScore(Vllm):
    """vLLM's `/score`: one query against many documents as text_1 / text_2."""
    path = "/score"

    def body(self, query: str, docs: list[str]) -> dict[str, Any]:
        out = {"text_1": query, "text_2": docs, **self.extra(len(docs))}
        out.pop("top_n")
        return out | ({"model": self.options.model} if self.options.model else {})


class Infinity(Adapter):
    name, path, info_path, max_docs = "infinity", "/rerank", "/models", 2048

    def truncation(self) -> dict[str, Any]:
        return {"server": "always truncates (longest_first) at the tokenizer's model_max_length"}

    def score_kind(self) -> str:
        return LOGIT if self.options.raw_scores else SIGMOID

    def extra(self, n: int) -> dict[str, Any]:
        return {"raw_scores": self.options.raw_scores, "return_documents": False}


FORMATS: dict[str, type[Adapter]] = {a.name: a for a in (Cohere, Jina, Voyage, Tei, Vllm, Infinity)}
ROUTES = {("vllm", "rerank"): Vllm, ("vllm", "score"): VllmScore}


def make_adapter(fmt: str, route: str | None, options: Options) -> Adapter:
    if fmt not in FORMATS:
        raise EvalkitError(f"reranker.api.format: {fmt!r} is not one of {sorted(FORMATS)}")
    if route is None:
        return FORMATS[fmt](options)
    if (fmt, route) not in ROUTES:
        raise EvalkitError(f"reranker.api.route: {route!r} applies to vllm only (rerank | score)")
    return ROUTES[(fmt, route)](options)

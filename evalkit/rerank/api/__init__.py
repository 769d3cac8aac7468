"""reranker=api: hosted and self-hosted rerank endpoints (Cohere, Jina, Voyage, TEI, vLLM, Infinity)."""
from evalkit.rerank.api.adapters import FORMATS, make_adapter
from evalkit.rerank.api.client import ApiFailure, ApiStats
from evalkit.rerank.api.scorer import ApiScorer, build_api_scorer

__all__ = ["FORMATS", "make_adapter", "ApiFailure", "ApiStats", "ApiScorer", "build_api_scorer"]

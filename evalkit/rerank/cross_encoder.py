"""reranker.backend=cross_encoder: a local sequence-classification cross-encoder (GTE, bge-reranker-v2-m3, any
Hugging Face `*ForSequenceClassification`), loaded without remote code and scored by the streaming engine
(evalkit/rerank/engine.py) in this process or by the executor's workers (executor=ray)."""
from __future__ import annotations

from typing import Any

from evalkit.checks import ConfigValueError
from evalkit.models.tokens import check_query_budget
from evalkit.rerank import RERANKERS


def _requires(tree: dict) -> None:
    reranker = tree["reranker"]
    if not reranker["model"]:
        raise ConfigValueError("reranker.model", reranker["model"], f"reranker={reranker['name']} needs a model: "
                               "reranker.model=<hub id or local directory>")
    problem = check_query_budget(reranker["max_length"], reranker["query_max_length"])
    if problem:
        raise ConfigValueError("reranker.query_max_length", reranker["query_max_length"], problem)


@RERANKERS.register("cross_encoder", requires=_requires)
def cross_encoder(reranker: Any, executor: Any):
    """A local cross-encoder (GTE, bge-reranker-v2-m3, any sequence-classification model), no remote code."""
    return executor.cross_encoder(reranker)

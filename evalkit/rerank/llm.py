"""reranker.backend=llm: a decoder-only (causal LM) reranker that reads the relevance from the next-token logits of
an answer word after a prompt (Qwen3-Reranker, bge-reranker-v2-gemma, bge-reranker-v2-minicpm-layerwise, or any
yes/no LLM reranker written as a YAML under configs/reranker/). Scored by the same streaming engine, pair cache and
executors as the encoders (evalkit/rerank/decoder.py).

The model reads `[bos] + prefix + query + middle + doc + suffix`: each prefix/middle/suffix text is tokenized on
its own (as the reference recipes do), `query` is tokenized as one text with the query in it (`{instruction}`
filled in), `doc` likewise. Only the document is cut to fit max_length; the query part is cut only beyond
reranker.query_max_length, and then inside the query, never the template text after it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from evalkit.checks import ConfigValueError, any_value, at_least, each, optional, setting
from evalkit.rerank import RERANKERS


def _text_with(placeholder: str, extra: tuple[str, ...] = ()):
    """The template must hold {placeholder} once and no placeholder but those in `extra`."""
    def check(v: str):
        fields = {placeholder: "\0", **{name: "" for name in extra}}
        try:
            marked = v.format(**fields).count("\0") == 1
        except (KeyError, IndexError, ValueError):
            marked = False
        allowed = " or ".join("{" + n + "}" for n in extra)
        return None if marked else (f"must contain {{{placeholder}}} once and no other {{placeholder}}"
                                    + (f" but {allowed}" if extra else ""))
    return check


def _single_answer(v: Optional[str]):
    return None if v is None or (isinstance(v, str) and v) else "must be a non-empty string"


@dataclass
class LlmConfig:
    """The prompt and the answer a decoder reranker's score is read from."""
    # replaces {instruction} in prefix, query, middle and suffix (other braces in prefix/middle/suffix are literal)
    instruction: Optional[str] = setting(None, any_value)
    prefix: list[str] = setting(check=any_value, factory=list)   # texts before the query, each tokenized alone
    query: str = setting("{query}", _text_with("query", ("instruction",)))   # tokenized as one text
    middle: list[str] = setting(check=any_value, factory=list)   # between query and document
    doc: str = setting("{doc}", _text_with("doc"))                  # tokenized as one text, cut to fit
    suffix: list[str] = setting(check=any_value, factory=list)   # after the document (the answer cue)
    bos: bool = setting(False, any_value)          # prepend the tokenizer's BOS token
    yes_token: str = setting("yes", _single_answer)             # the score is its logit at the last position ...
    no_token: Optional[str] = setting("no", _single_answer)     # ... minus this one's (null: the yes logit alone)
    # layer-wise models (bge-reranker-v2-minicpm-layerwise): the layers whose heads score; the first is the run's
    # reranked system, each other one is reported as `reranked@layer<N>` from the same forward passes
    cutoff_layers: Optional[list[int]] = setting(None, optional(each(at_least(1))))


def _requires(tree: dict) -> None:
    reranker = tree["reranker"]
    if not reranker["model"]:
        raise ConfigValueError("reranker.model", reranker["model"], f"reranker={reranker['name']} needs a model: "
                               "reranker.model=<hub id or local directory>")
    for key in ("query_template", "doc_template"):
        default = "{query}" if key == "query_template" else "{doc}"
        if reranker[key] != default:
            part = "query" if key == "query_template" else "doc"
            raise ConfigValueError(f"reranker.{key}", reranker[key], f"reranker.backend=llm reads its prompt from "
                                   f"reranker.llm; set reranker.llm.{part} instead")
    llm = reranker.get("llm") or {}
    parts = [llm.get("query") or "", *[t for k in ("prefix", "middle", "suffix") for t in llm.get(k) or []]]
    if llm.get("instruction") is None and any("{instruction}" in p for p in parts):
        raise ConfigValueError("reranker.llm.instruction", None, "the prompt has {instruction}: set "
                               "reranker.llm.instruction='...'")


@RERANKERS.register("llm", config=LlmConfig, requires=_requires)
def llm_reranker(reranker: Any, executor: Any):
    """A decoder-only LLM reranker (Qwen3-Reranker, bge-reranker-v2-gemma/-minicpm-layerwise, any yes/no prompt)."""
    return executor.cross_encoder(reranker)

"""`evalkit probe`: where does an endpoint stop reading a document? (and the local model, beside it)

A query's answer sentence is placed at increasing document-token offsets (counted with the local tokenizer) inside
a long filler document made of single-token words. While the answer lies inside what the endpoint reads, the score
differs from the filler-only control; once it lies beyond, the endpoint reads exactly the control's first tokens and
returns the control's score. The first offset from which every score equals the control's is where it stops seeing
the answer; the probe's resolution is its step.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable, Sequence

import numpy as np

from evalkit.errors import EvalkitError

log = logging.getLogger(__name__)
QUERY = "what is the secret code of the blue harbour"
ANSWER = "the secret code of the blue harbour is seven four two one"
WORDS = ("river stone green market window paper garden summer music table letter winter silver forest island "
         "mountain morning yellow doctor engine camera bridge pocket orange planet basket candle dinner rabbit").split()


def filler_words(tokenizer: Any, n: int) -> list[str]:
    """`n` words that are one token each for `tokenizer` (so a word offset is a token offset)."""
    single = [w for w in WORDS if len(tokenizer(" " + w, add_special_tokens=False)["input_ids"]) == 1]
    if len(single) < 4:
        raise EvalkitError("probe: the tokenizer splits the filler words; pass another --tokenizer")
    return [single[(i * 7 + i // len(single)) % len(single)] for i in range(n)]


def probe_documents(tokenizer: Any, offsets: Sequence[int], tail: int = 64) -> tuple[list[str], str]:
    """One document per offset with the answer starting at that document token, and the filler-only control."""
    words = filler_words(tokenizer, max(offsets) + tail)
    docs = [" ".join(words[:k] + [ANSWER] + words[k:]) for k in offsets]
    return docs, " ".join(words)


def stops_seeing(scores: np.ndarray, control: float, offsets: Sequence[int], tol: float) -> int | None:
    """The first offset from which every score equals the control's (None: the answer is seen everywhere)."""
    same = np.abs(scores - control) <= tol
    cut = None
    for i in range(len(offsets) - 1, -1, -1):
        if not same[i]:
            break
        cut = offsets[i]
    return cut


def run_probe(score: Callable[[list[tuple[str, str]]], np.ndarray], tokenizer: Any, offsets: Sequence[int],
              tol: float) -> dict:
    docs, control = probe_documents(tokenizer, offsets)
    scores = np.asarray(score([(QUERY, d) for d in docs] + [(QUERY, control)]), dtype=np.float64)
    return {"stops_seeing_at": stops_seeing(scores[:-1], scores[-1], offsets, tol),
            "scores": [round(float(s), 7) for s in scores[:-1]], "control": float(scores[-1])}


def load_probe(path: str | Path) -> dict:
    path = Path(path)
    try:
        probe = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise EvalkitError(f"reranker.api.probe_file: {path}: {exc}") from None
    if not {"offsets", "step", "endpoint"} <= set(probe):
        raise EvalkitError(f"reranker.api.probe_file: {path} is not an `evalkit probe` result")
    return probe


def parser() -> argparse.ArgumentParser:
    from evalkit.commands import parser as command_parser   # defined there, so `--help` needs no numpy

    return command_parser("probe")


def _tokenizer(path: str | None) -> Any:
    if path:
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(path)
    from evalkit.data.tokenizer import load_tokenizer

    return load_tokenizer("xlmr")


def probe(args: argparse.Namespace) -> dict:
    from evalkit.rerank.api.scorer import ApiScorer

    if args.step < 1 or args.max_offset < args.step:
        raise EvalkitError(f"--step {args.step} / --max-offset {args.max_offset}: need 1 <= step <= max-offset")
    offsets = list(range(0, args.max_offset + 1, args.step))
    tokenizer = _tokenizer(args.tokenizer or args.local_model)
    api = SimpleNamespace(format=args.format, base_url=args.base_url, model=args.model, route=args.route,
                          key_env=args.key_env, docs_per_request=None, max_concurrency=1, requests_per_minute=None,
                          timeout_s=120.0, max_retries=4, backoff_base_s=1.0, backoff_max_s=30.0,
                          raw_scores=not args.normalized, truncate_tokens=args.truncate_tokens, truncate=None)
    endpoint = ApiScorer(api)   # no pair cache: the probe always asks
    out = {"offsets": offsets, "step": args.step, "tol": args.tol, "query": QUERY, "answer": ANSWER,
           "query_tokens": len(tokenizer(QUERY, add_special_tokens=False)["input_ids"]),
           "endpoint": {**run_probe(endpoint.score, tokenizer, offsets, args.tol), "info": endpoint.info,
                        "requests": endpoint.stats.requests}}
    if args.local_model:
        from evalkit.config import RerankerConfig
        from evalkit.rerank.engine import build_cross_encoder

        local = build_cross_encoder(RerankerConfig(name="hf", model=args.local_model, max_length=args.local_max_length,
                                                   device="cpu", dtype="fp32", cache=False))
        out["local"] = {**run_probe(local.score, tokenizer, offsets, args.tol), "model": args.local_model,
                        "max_length": local.settings.max_length}
    return out


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args = parser().parse_args(argv)
    try:
        result = probe(args)
    except EvalkitError as exc:
        sys.stderr.write(f"evalkit probe: error: {exc}\n")
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / f".probe.json.{os.getpid()}"
    tmp.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    tmp.replace(out / "probe.json")
    for side in ("endpoint", "local"):
        if side in result:
            cut = result[side]["stops_seeing_at"]
            log.info("%s: %s", side, f"stops seeing the answer at document token {cut} (step {args.step})"
                     if cut is not None else f"sees the answer at every offset up to {args.max_offset}")
    log.info("wrote %s", out / "probe.json")
    return 0

"""The `efficiency` entry of metrics.json: what the rerank stage cost, with what each number depends on beside it.

Speed counts the pairs the model (or endpoint) actually scored over the rerank stage's wall time; pairs served
from the pair cache are counted apart and are not in the rate (a run served wholly from the cache has no speed
figure, `pairs_per_s: null` and a note, rather than an enormous number).

FLOPs per pair are forward-pass matmul FLOPs from the model's config (gathers, norms, softmax and an encoder's
classifier head ignored), as in /work/shared/reference/gpu-throughput-anchors.md §0:
  encoder: 2·P·n + 4·L·d·n²          P = L·(4·d² + m·d·I), m = 3 for a gated MLP (GTE's GeGLU), else 2
  decoder: 2·P·n + 2·L·H·hd·n(n+1) + 2·d·V
           P = L·(2·d·H·hd + 2·d·KV·hd + 3·d·I) (GQA, gated MLP); causal attention counts the lower triangle
           only (what causal kernels compute); the LM head is read at one position (2·d·V).
n is the run's mean tokens per scored pair, so the attention term is a lower bound (E[n²] >= n̄²; the engine keeps
no sum of squared lengths).

Per-query latency: the streaming engine scores many queries per forward pass, so a query's own latency is not
observable in the run. It is measured by a probe after the stage: the first PROBE_QUERIES queries, each scored
alone by one `score()` call with the pair cache bypassed (warm model). Hosted endpoints: per-request latency as the
API scorer records it (one request holds one query's documents, up to docs_per_request).
"""
from __future__ import annotations

import copy
import logging
import platform
import resource
import time
from typing import Any, Iterable, Sequence

import numpy as np

log = logging.getLogger(__name__)
PROBE_QUERIES = 8
GATED_ENCODERS = ("gte", "new")    # model_type of GTE (native transformers, original remote code): GeGLU MLP
LATENCY_PROBE = (f"probe: the first {PROBE_QUERIES} queries, each scored alone by one score() call over its "
                 "candidates, pair cache bypassed, after the run (warm)")


def _layers(config: Any, layers: int | None) -> int:
    return int(layers if layers is not None else config.num_hidden_layers)


def encoder_flops(config: Any, n: float, layers: int | None = None) -> float:
    """Forward matmul FLOPs of one pair of `n` tokens through an encoder cross-encoder."""
    d, inter, L = config.hidden_size, config.intermediate_size, _layers(config, layers)
    mlp = 3 if getattr(config, "model_type", "") in GATED_ENCODERS else 2
    params = L * (4 * d * d + mlp * d * inter)
    return 2.0 * params * n + 4.0 * L * d * n * n


def decoder_flops(config: Any, n: float, layers: int | None = None) -> float:
    """Forward matmul FLOPs of one pair of `n` tokens through a causal LM read at its last position; `layers`: a
    layer-wise model's deepest cutoff (only that many layers run, and its heads are Linear(hidden, 1): no LM
    head)."""
    d, inter, L = config.hidden_size, config.intermediate_size, _layers(config, layers)
    heads, kv = config.num_attention_heads, getattr(config, "num_key_value_heads", None) or config.num_attention_heads
    hd = getattr(config, "head_dim", None) or d // heads
    params = L * (2 * d * heads * hd + 2 * d * kv * hd + 3 * d * inter)
    head = 2.0 * d * (1 if layers is not None else config.vocab_size)
    return 2.0 * params * n + 2.0 * L * heads * hd * n * (n + 1) + head


def is_decoder(config: Any) -> bool:
    """Causal LMs (Qwen3, Gemma, Llama, MiniCPM) declare key-value heads; encoder cross-encoders do not."""
    return getattr(config, "num_key_value_heads", None) is not None


def flops_per_pair(config: Any, n: float, layers: int | None = None) -> float:
    return (decoder_flops if is_decoder(config) else encoder_flops)(config, n, layers)


def pareto_front(points: Sequence[tuple[float, float]]) -> list[bool]:
    """Which (speed, quality) points no other point beats on both (>= on both, > on one); larger is better."""
    out = []
    for i, (x, y) in enumerate(points):
        out.append(not any((x2 >= x and y2 >= y) and (x2 > x or y2 > y)
                           for j, (x2, y2) in enumerate(points) if j != i))
    return out


def device_name(device: str) -> str:
    """The card or the CPU model: what a timing was measured on."""
    try:
        if device.startswith("cuda"):
            import torch

            return torch.cuda.get_device_name(torch.device(device))
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except (OSError, RuntimeError, AssertionError):   # no /proc, or a CUDA device this process cannot see
        pass
    return platform.processor() or platform.machine()


def peak_memory(device: str) -> tuple[float, str]:
    """(MiB, what was measured): CUDA's max_memory_allocated on a GPU, else the process's peak RSS."""
    if device.startswith("cuda"):
        import torch

        return (torch.cuda.max_memory_allocated(torch.device(device)) / 2 ** 20,
                "CUDA max_memory_allocated since the process started (model load included)")
    return (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,   # KiB on Linux
            "process peak RSS (ru_maxrss; the whole process: model, doc store, first stage)")


def _rate(count: float, seconds: float) -> float | None:
    return round(count / seconds, 3) if count and seconds > 0 else None


def _latencies(seconds: list[float]) -> dict[str, float | None]:
    if not seconds:
        return {"p50_ms": None, "p95_ms": None}
    p50, p95 = np.percentile(1000 * np.asarray(seconds), [50, 95])
    return {"p50_ms": round(float(p50), 3), "p95_ms": round(float(p95), 3)}


def probe_latency(scorer: Any, chunks: Iterable[Sequence[tuple[str, str]]],
                  n_queries: int = PROBE_QUERIES) -> tuple[list[float], Any]:
    """Seconds per query, each query's pairs scored alone by a copy of `scorer` without its cache (the run's
    stats and cache untouched), and the copy's stats."""
    probe = copy.copy(scorer)
    probe.cache, probe.stats, probe.progress = None, type(scorer.stats)(), False
    out = []
    for chunk in chunks:
        if len(out) >= n_queries:
            break
        start = time.perf_counter()
        probe.score(list(chunk))
        out.append(time.perf_counter() - start)
    return out, probe.stats


def efficiency(scorer: Any, stage_seconds: float, queries: int, chunks: Iterable | None = None,
               pairs: int | None = None) -> dict[str, Any]:
    """metrics.json's `efficiency` for a scorer after its rerank stage of `stage_seconds` over `queries` queries;
    `chunks` (one list of pairs per query) feeds the latency probe of a local model. A scorer that keeps no stats
    (any object with `score(pairs)`, the Scorer contract) gets the stage's rate over the run's `pairs`."""
    if not hasattr(scorer, "stats"):
        return {"kind": "scorer", "pairs_requested": pairs, "stage_seconds": round(stage_seconds, 4),
                "queries": queries, "pairs_per_s": _rate(pairs or 0, stage_seconds),
                "ms_per_query": round(1000 * stage_seconds / queries, 3) if queries else None,
                "speed_note": "a scorer without stats: every requested pair counted, over the rerank stage's wall "
                              "time (cache hits, tokens and FLOPs unknown)", "flops_per_pair": None}
    stats, settings = scorer.stats, scorer.settings
    scored, cached = int(stats.scored), int(stats.cache_hits)
    out: dict[str, Any] = {
        "pairs_requested": int(stats.pairs_requested), "pairs_scored": scored, "cache_hits": cached,
        "stage_seconds": round(stage_seconds, 4), "queries": queries,
        "pairs_per_s": _rate(scored, stage_seconds),
        "ms_per_query": round(1000 * stage_seconds / queries, 3) if queries and scored else None,
    }
    if not scored:
        out["speed_note"] = "every pair came from the pair cache: nothing was scored, so no speed figure"
    elif cached:
        out["speed_note"] = (f"{cached} pairs came from the pair cache: rates count the {scored} pairs scored, over "
                             "the whole stage's wall time")
    else:
        out["speed_note"] = "rates: pairs scored / rerank stage wall time (doc fetch and tokenization included)"
    if scored:
        out["speed_note"] += "; ms_per_query = stage wall time / queries (amortised: batches hold many queries)"
    if hasattr(scorer, "report"):   # a hosted endpoint: its own request latencies, no FLOPs
        out |= {"kind": "api", "endpoint": scorer.info.get("endpoint"), "device": "remote endpoint",
                "device_name": scorer.info.get("endpoint"), "dtype": None, "torch_threads": None,
                "max_concurrency": settings.max_concurrency, "docs_per_request": settings.docs_per_request,
                "p50_ms": None if stats.latency_p50_s is None else round(1000 * stats.latency_p50_s, 3),
                "p95_ms": None if stats.latency_p95_s is None else round(1000 * stats.latency_p95_s, 3),
                "latency_measure": "per HTTP request (one query's documents a request), successful requests",
                "flops_per_pair": None, "flops_note": "a hosted endpoint's model is not known here"}
        return out
    import torch

    device = settings.device
    config = scorer.model.config if hasattr(scorer, "model") else None
    seconds, probed = probe_latency(scorer, chunks) if chunks is not None and hasattr(scorer, "model") else ([], None)
    sized = stats if scored and stats.tokens else probed   # a run served from the cache: the probe's pairs
    mean_tokens = sized.tokens / sized.scored if sized is not None and sized.scored and sized.tokens else None
    cutoffs = getattr(settings, "cutoff_layers", None) or getattr(scorer, "cutoff_layers", None)   # layer-wise
    layers = max(cutoffs) if cutoffs else None
    ray = hasattr(scorer, "remote")   # executor=ray: the actors' summed stats; threads and memory are theirs
    memory, memory_measure = (None, "not measured: the model runs in Ray actors") if ray else peak_memory(device)
    out |= {
        "kind": "ray" if ray else "local",
        "device": device, "device_name": device_name(device), "dtype": settings.dtype,
        "torch_threads": f"{scorer.executor.cpus_per_actor} per actor" if ray else torch.get_num_threads(),
        "batch_tokens": settings.batch_tokens,
        "packed": settings.packed, "tokens": int(stats.tokens), "padded_tokens": int(stats.padded_tokens),
        "batches": int(stats.batches), "model_seconds": round(stats.wall_seconds, 4),
        "tokens_per_s": _rate(stats.tokens, stage_seconds),
        "padding_efficiency": round(stats.tokens / stats.padded_tokens, 4) if stats.padded_tokens else None,
        "mean_tokens_per_pair": round(mean_tokens, 2) if mean_tokens else None,
        "peak_memory_mib": None if memory is None else round(memory, 1), "memory_measure": memory_measure,
    }
    if config is not None and mean_tokens:
        out["flops_per_pair"] = round(flops_per_pair(config, mean_tokens, layers))
        out["flops_note"] = ((f"decoder up to cutoff layer {layers}; " if layers else "decoder; " if is_decoder(config)
                              else "encoder; ") + "matmul FLOPs at the mean tokens per pair (attention at n̄²: "
                             "a lower bound), evalkit/metrics/efficiency.py")
    else:
        out["flops_per_pair"], out["flops_note"] = None, "no pairs scored" if config is not None else \
            "the model runs in Ray actors; the driver keeps no config"
    if mean_tokens and sized is probed:
        out["flops_note"] += "; tokens per pair from the latency probe (the run scored nothing)"
    out |= _latencies(seconds)
    out["latency_measure"] = LATENCY_PROBE.replace(f"first {PROBE_QUERIES}", f"first {len(seconds)}") if seconds \
        else "not measured: " + ("the model runs in Ray actors" if ray else "no query to probe")
    return out


def measured_on(eff: dict) -> str:
    """`cpu (AMD EPYC …) fp32 2 threads`: what a timing depends on, in one phrase."""
    parts = [str(eff.get("device") or "setup not recorded"), f"({eff['device_name']})" if eff.get("device_name") else "",
             str(eff.get("dtype") or ""), f"{eff['torch_threads']} threads" if eff.get("torch_threads") else ""]
    return " ".join(p for p in parts if p)


"""report.md sections for tied scores, a rerank endpoint's cost and latency, and where it stops reading."""
from __future__ import annotations


def _num(value) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.4g}"


def ties_section(ties: dict) -> list[str]:
    lines = ["## Tied scores", "",
             f"{ties['queries_with_ties']} queries have tied reranked scores ({ties['tied_pairs']} pairs; "
             f"{ties['saturated_pairs']} saturated within 1e-7 of 0 or 1). Ties are ordered by docid (trec_eval)."]
    if ties["affected"]:
        lines += ["**Ties affect these metrics** (macro average with every tie broken for / against the relevant "
                  "documents; ask the endpoint for raw scores to avoid this):", ""]
        lines += [f"- {m}: best {100 * v['best']:.2f}, worst {100 * v['worst']:.2f} (spread {100 * v['spread']:.2f})"
                  for m, v in ties["affected"].items()]
    else:
        lines.append("No metric changes whichever way the ties are broken.")
    return lines + [""]


def api_section(api: dict) -> list[str]:
    billed = ", ".join(f"{k} {_num(v)}" for k, v in sorted(api.get("billed", {}).items())) or "none reported"
    latency = " / ".join(f"{1000 * api[k]:.1f}" if api.get(k) is not None else "–"
                         for k in ("latency_p50_s", "latency_p95_s", "latency_p99_s"))
    rows = [("endpoint", api["endpoint"]), ("model", api.get("model")), ("score kind", api["score_kind"]),
            ("truncation", api.get("truncation")), ("requests (retries)", f"{api['requests']} ({api['retries']})"),
            ("HTTP 429 / 5xx / timeouts / dropped", f"{api['http_429']} / {api['http_5xx']} / {api['timeouts']} / "
                                                     f"{api['connection_errors']}"),
            ("documents sent", _num(api["documents"])), ("pairs from the cache", _num(api["cache_hits"])),
            ("billed units", billed), ("latency p50 / p95 / p99 (ms)", latency),
            ("wall time in requests (s)", f"{api['request_seconds']:.2f}")]
    return ["## Rerank endpoint: cost and latency", "", "| | |", "|---|---|",
            *(f"| {k} | {v} |" for k, v in rows), ""]


def probe_section(probe: dict) -> list[str]:
    """Where the endpoint and the local model stop reading a document (from `evalkit probe`)."""
    def seen(side: dict) -> str:
        cut = side.get("stops_seeing_at")
        return f"stops seeing the answer at document token {cut}" if cut is not None else \
            f"sees it at every offset probed (up to {probe['offsets'][-1]})"
    lines = ["## Where the endpoint stops reading (truncation probe)", "",
             f"Answer placed at document token offsets {probe['offsets'][0]}..{probe['offsets'][-1]} "
             f"(step {probe['step']}, local tokenizer): the endpoint {seen(probe['endpoint'])}"]
    if probe.get("local"):
        lines[-1] += f"; the local model {seen(probe['local'])}"
    return lines + [". Compare with the length buckets above.", ""]


def api_sections(metrics: dict) -> list[str]:
    out: list[str] = []
    if metrics.get("ties"):
        out += ties_section(metrics["ties"])
    if metrics.get("reranker_api"):
        out += api_section(metrics["reranker_api"])
    if metrics.get("truncation_probe"):
        out += probe_section(metrics["truncation_probe"])
    return out

"""report.md of one run: protocol, then per-language and per-bucket tables, first stage vs reranked."""
from __future__ import annotations

import json
from pathlib import Path

from evalkit.storage import atomic_write_text

import pandas as pd
from omegaconf import DictConfig

from evalkit.contracts import GROUP
from evalkit.metrics.aggregate import MACRO
from evalkit.metrics.buckets import NO_RELEVANT, bucket_labels

COLUMNS = [("first_stage", "first stage"), ("reranked", "reranked"), ("ceiling", "ceiling")]


def columns(systems) -> list[tuple[str, str]]:
    """(system, label) of a run's systems in table order: a layer-wise reranker's other cutoffs
    (`reranked@layer<N>`) right after the reranked one."""
    variants = sorted((s for s in systems if s.startswith("reranked@")), key=lambda s: (len(s), s))
    out = [c for c in COLUMNS if c[0] in systems]
    at = next((i + 1 for i, (s, _) in enumerate(out) if s == "reranked"), len(out))
    return out[:at] + [(s, s.removeprefix("reranked@")) for s in variants] + out[at:]


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.2f}"


def _delta(a: float | None, b: float | None) -> str:
    return "–" if a is None or b is None else f"{100 * (b - a):+.2f}"


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


WHITESPACE = {" ": "space", "\n": "newline", "\t": "tab", "": "empty"}


def shown_text(value: str) -> str:
    """A separator as a reader can see it: `" " (space)`, `"\\n" (newline)`."""
    quoted = json.dumps(value, ensure_ascii=False)
    return f"{quoted} ({WHITESPACE[value]})" if value in WHITESPACE else quoted


def readable_protocol(protocol: dict, missing_docs: str | None = None) -> dict:
    """The protocol as rows a reader can use: no None rows (a setting that does not apply, e.g. the max length of
    reranker=none), missing_docs as its setting (`error`, or `warn: en 3` with the documents dropped), doc_sep
    quoted and named. `missing_docs` is benchmark.missing_docs where known (the protocol only holds the counts)."""
    out = {}
    for key, value in protocol.items():
        if value is None:
            continue
        if key == "missing_docs" and isinstance(value, dict):
            counts = " ".join(f"{lang} {n}" for lang, n in value.items())
            setting = missing_docs or ("warn" if counts else None)
            value = ": ".join(x for x in (setting, counts) if x) or "none missing"
        elif key == "doc_sep" and isinstance(value, str):
            value = shown_text(value)
        out[key] = value
    return out


def protocol_block(protocol: dict) -> str:
    rows = [[key, f"`{value}`" if not isinstance(value, str) else value] for key, value in protocol.items()]
    return markdown_table(["setting", "value"], rows)


def _rows(systems: dict, metric: str, section: str, keys: list[str], counts: dict[str, int]) -> list[list[str]]:
    present = [s for s, _ in columns(systems)]
    rows = []
    for key in keys:
        values = {}
        for system in present:
            entry = systems[system][section].get(metric, {}).get(key)
            values[system] = entry["mean"] if isinstance(entry, dict) else entry
        row = [key, str(counts.get(key, 0))] + [_fmt(values[s]) for s in present]
        if "reranked" in present:
            row.insert(4, _delta(values["first_stage"], values["reranked"]))
        rows.append(row)
    return rows


def language_tables(metrics: dict) -> list[tuple[str, list[str], list[list[str]]]]:
    """Per measure, the per-language table (first stage, reranked, Δ, ceiling) from metrics.json: (measure,
    header, rows); report.md and report.html show the same."""
    systems, protocol = metrics["systems"], metrics["protocol"]
    present = [label for _, label in columns(systems)]
    if "reranked" in systems:
        present.insert(2, "Δ")
    first = systems["first_stage"]
    langs = with_groups([lang for lang in protocol["languages"] if lang in first["queries"]], first["queries"])
    return [(metric, [axis(protocol), "queries", *present],
             _rows(systems, metric, "by_language", langs + [MACRO], dict(first["queries"])))
            for metric in protocol["measures"]]


def axis(protocol: dict) -> str:
    """What the per-language axis holds: `lang`, or a benchmark group's unit (BEIR: `dataset`)."""
    return protocol.get("axis") or "lang"


def with_groups(langs: list[str], present) -> list[str]:
    """`langs` with each `group:part` run followed by its group's row (CQADupStack after its forums)."""
    out = []
    for i, lang in enumerate(langs):
        out.append(lang)
        group = lang.partition(GROUP)[0]
        last = i + 1 == len(langs) or langs[i + 1].partition(GROUP)[0] != group
        if group != lang and last and group in present:
            out.append(group)
    return out


def _n(value, unit: str = "", digits: int = 4) -> str:
    if value is None:
        return "–"
    text = f"{value:,.0f}" if isinstance(value, int) or abs(value) >= 10 ** digits else f"{value:.{digits}g}"
    return f"{text} {unit}".strip()


def _flops(value: float | None) -> str:
    if value is None:
        return "–"
    for scale, unit in ((1e12, "TFLOP"), (1e9, "GFLOP"), (1e6, "MFLOP"), (1e3, "kFLOP")):
        if value >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value:.0f} FLOP"


def efficiency_rows(metrics: dict) -> tuple[str, list[list[str]]]:
    """(note, rows) of the run's efficiency figures, each beside what it depends on; report.md and report.html."""
    eff = metrics.get("efficiency")
    if not eff:
        if metrics["protocol"].get("reranker") in (None, "none"):
            return "reranker=none: no rerank stage, so no efficiency figures (nothing was scored).", []
        return ("no efficiency figures: this run's rerank stage was not timed as one (a merge of shards: each "
                "shard's metrics.json has its own).", [])
    if eff.get("kind") == "scorer":   # a Scorer without stats: the stage's rate only
        return eff["speed_note"], [["pairs requested", f"{eff['pairs_requested']:,}"],
                                   ["rerank stage", f"{eff['stage_seconds']:.3f} s over {eff['queries']:,} queries"],
                                   ["pairs/s", _n(eff["pairs_per_s"])], ["ms/query (amortised)", _n(eff["ms_per_query"])]]
    from evalkit.metrics.efficiency import measured_on

    setup = measured_on(eff)
    if eff.get("kind") != "api":
        setup += f"; batch_tokens {eff['batch_tokens']}, {'packed' if eff['packed'] else 'padded'} batches"
    else:
        setup += f"; {eff['max_concurrency']} concurrent requests, up to {eff['docs_per_request']} documents each"
    achieved = (eff["flops_per_pair"] * eff["pairs_per_s"]
                if eff.get("flops_per_pair") and eff.get("pairs_per_s") else None)
    rows = [["measured on", setup],
            ["pairs scored / requested", f"{eff['pairs_scored']:,} / {eff['pairs_requested']:,} "
                                         f"({eff['cache_hits']:,} from the pair cache)"],
            ["rerank stage", f"{eff['stage_seconds']:.3f} s over {eff['queries']:,} queries"],
            ["pairs/s", _n(eff["pairs_per_s"])], ["tokens/s", _n(eff.get("tokens_per_s"))],
            ["ms/query (amortised)", _n(eff["ms_per_query"])],
            ["latency p50 / p95 per query", f"{_n(eff['p50_ms'])} / {_n(eff['p95_ms'])} ms ({eff['latency_measure']})"]]
    if eff.get("kind") != "api":
        rows += [["mean tokens per pair", _n(eff["mean_tokens_per_pair"])],
                 ["padding efficiency", f"{_n(eff['padding_efficiency'])} (real / computed tokens)"],
                 ["peak memory", f"{_n(eff['peak_memory_mib'])} MiB ({eff['memory_measure']})"]]
    rows += [["FLOPs per pair", f"{_flops(eff.get('flops_per_pair'))} ({eff.get('flops_note')})"],
             ["achieved", f"{_flops(achieved)}/s" if achieved else "–"]]
    return eff["speed_note"], rows


def efficiency_block(metrics: dict) -> list[str]:
    note, rows = efficiency_rows(metrics)
    return ["## Efficiency (rerank stage)", "", f"*{note}*", "", *([markdown_table(["", ""], rows), ""] if rows else [])]


def render(table: pd.DataFrame, metrics: dict, title: str, missing_docs: str | None = None) -> str:
    systems, protocol = metrics["systems"], metrics["protocol"]
    present = [label for _, label in columns(systems)]
    if "reranked" in systems:
        present.insert(2, "Δ")
    one = table[(table.system == "first_stage") & (table.metric == table.metric.iloc[0])]
    bucket_counts = one.groupby("bucket").size().to_dict()
    buckets = [b for b in bucket_labels(protocol["bucket_edges"]) + [NO_RELEVANT] if b in bucket_counts]
    parts = [f"# {title}", "", "## Protocol", "", protocol_block(readable_protocol(protocol, missing_docs)), ""]
    parts += ["Scores are ×100. `ceiling` = the candidates ordered by their judgments (a perfect reranker); "
              "Δ = reranked − first stage. The macro average (`avg`) is the mean of the per-language means.", ""]
    for metric, header, rows in language_tables(metrics):
        parts += [f"## {metric} per {'language' if header[0] == 'lang' else header[0]}", "", markdown_table(header, rows), ""]
    for metric in protocol["measures"]:
        parts += [f"## {metric} per document-length bucket", "",
                  "Bucket = token length (bucket tokenizer) of the query's longest relevant document; "
                  "queries of all languages pooled.", "",
                  markdown_table(["bucket", "queries", *present], _rows(systems, metric, "by_bucket", buckets, bucket_counts)), ""]
    from evalkit.report.api_sections import api_sections

    return "\n".join(parts + efficiency_block(metrics) + api_sections(metrics))


def write_report(out_dir: Path, table: pd.DataFrame, metrics: dict, cfg: DictConfig, appendix: str = "") -> Path:
    """report.md, with `appendix` (e.g. the "vs published" section) after the tables."""
    protocol = metrics["protocol"]
    title = cfg.report.title or f"evalkit: {protocol['benchmark']} — {protocol['candidates']} → {protocol['reranker']}"
    path = Path(out_dir) / "report.md"
    atomic_write_text(path, render(table, metrics, title, cfg.benchmark.missing_docs) + appendix)
    return path

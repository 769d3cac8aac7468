"""`evalkit merge SHARD_DIR... --out DIR`: the run dirs of `run.shard=0/n ... n-1/n` as one unsharded run dir.

Run files, per_query.parquet, metrics.json, config.yaml and the reports come out byte-identical to those of
the unsharded run (given bitwise-equal scores per pair): rows are put back in the unsharded order and every
aggregate is recomputed from the merged per-query table. manifest.json adds the shards and their timings.
Shards with different configs (besides run.shard), a missing or repeated shard, or a query in two shards are
refused.
"""
from __future__ import annotations

import copy
import json
import logging
from pathlib import Path

import pandas as pd
from omegaconf import DictConfig, OmegaConf

from evalkit.errors import EvalkitError
from evalkit.storage import atomic_write_text
from evalkit.metrics.aggregate import summary
from evalkit.metrics.evaluate import excluded_line
from evalkit.gate.provenance import cache_rates, config_hash
from evalkit.executors.shard import SHARD_FILE

log = logging.getLogger(__name__)


def _load(shard_dir: Path) -> dict:
    path = shard_dir / SHARD_FILE
    if not path.is_file():
        raise EvalkitError(f"{shard_dir}: not a shard run dir (no {SHARD_FILE}; run it with run.shard=i/n)")
    config = OmegaConf.load(shard_dir / "config.yaml")
    return {"dir": shard_dir, "info": json.loads(path.read_text(encoding="utf-8")), "config": config}


def _differences(a, b, prefix: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b), key=str)
                for d in _differences(a.get(k, "<absent>"), b.get(k, "<absent>"), f"{prefix}{k}.")]
    return [] if a == b else [prefix.rstrip(".")]


def check_shards(shards: list[dict]) -> None:
    """Refuse anything that would not add up to exactly one unsharded run."""
    first = shards[0]
    base = OmegaConf.to_container(first["config"])
    base["run"].pop("shard", None)
    for s in shards[1:]:
        other = OmegaConf.to_container(s["config"])
        other["run"].pop("shard", None)
        if diff := _differences(base, other):
            raise EvalkitError(f"{s['dir']}: config differs from {first['dir']} at {', '.join(diff)}")
        if s["info"]["queries"] != first["info"]["queries"]:
            raise EvalkitError(f"{s['dir']}: the benchmark's queries differ from those of {first['dir']}")
    count, seen = first["info"]["count"], {}
    for s in shards:
        if s["info"]["count"] != count:
            raise EvalkitError(f"{s['dir']}: shard {s['info']['shard']} is not one of {count} shards")
        if s["info"]["index"] in seen:
            raise EvalkitError(f"shard {s['info']['shard']} given twice: {seen[s['info']['index']]} and {s['dir']}")
        seen[s["info"]["index"]] = s["dir"]
    if missing := [f"{i}/{count}" for i in range(count) if i not in seen]:
        raise EvalkitError(f"missing shard(s) {', '.join(missing)} of {count}")
    owner: dict[tuple[str, str], Path] = {}
    for s in shards:
        for lang, qids in s["info"]["mine"].items():
            for qid in qids:
                if (lang, qid) in owner:
                    raise EvalkitError(f"query {lang}/{qid} is in two shards: {owner[lang, qid]} and {s['dir']}")
                owner[lang, qid] = s["dir"]
    absent = [(lang, q) for lang, qids in first["info"]["queries"].items() for q in qids if (lang, q) not in owner]
    if absent:
        raise EvalkitError(f"{len(absent)} queries are in no shard (first: {absent[0][0]}/{absent[0][1]})")


def merged_table(shards: list[dict], order: dict[str, list[str]]) -> pd.DataFrame:
    """Shard tables in the unsharded row order: system, language, metric, then the per-query table's own
    query order (queries with a relevant judgment sorted, then the others in topic order)."""
    tables = [pd.read_parquet(s["dir"] / "per_query.parquet") for s in shards]
    relevant = {lang: set() for lang in order}
    for s in shards:
        for lang, qids in s["info"]["relevant"].items():
            relevant[lang].update(qids)
    rank = {(lang, q): i for lang, qids in order.items()
            for i, q in enumerate(sorted(relevant[lang]) + [q for q in qids if q not in relevant[lang]])}
    table = pd.concat(tables, ignore_index=True)
    systems = {v: i for i, v in enumerate(tables[0]["system"].unique())}
    metrics = {v: i for i, v in enumerate(tables[0]["metric"].unique())}
    langs = {lang: i for i, lang in enumerate(order)}
    key = pd.DataFrame({"s": table["system"].map(systems), "l": table["lang"].map(langs),
                        "m": table["metric"].map(metrics),
                        "q": [rank[lang, q] for lang, q in zip(table["lang"], table["qid"])]})
    return table.loc[key.sort_values(["s", "l", "m", "q"], kind="stable").index].reset_index(drop=True)


def merge_run_files(shards: list[dict], order: dict[str, list[str]], out: Path) -> None:
    """Each `runs/{stage}.{lang}.trec`: the shards' lines, query by query in topic order."""
    names = sorted({p.name for s in shards for p in (s["dir"] / "runs").glob("*.trec")})
    (out / "runs").mkdir(parents=True, exist_ok=True)
    for name in names:
        lines: dict[str, list[str]] = {}
        for s in shards:
            path = s["dir"] / "runs" / name
            if path.is_file():
                for line in path.read_text(encoding="utf-8").splitlines(keepends=True):
                    lines.setdefault(line.split(None, 1)[0], []).append(line)
        lang = name.rsplit(".", 2)[-2]
        text = "".join(line for qid in order.get(lang, []) for line in lines.get(qid, []))
        atomic_write_text(out / "runs" / name, text)


def merged_manifest(shards: list[dict], cfg: DictConfig, languages: list[str]) -> dict:
    manifests = [json.loads((s["dir"] / "manifest.json").read_text(encoding="utf-8")) for s in shards]
    merged = copy.deepcopy(manifests[0])
    merged["protocol"]["languages"] = languages
    env = merged["environment"]
    env["config"], env["config_hash"] = OmegaConf.to_container(cfg, resolve=True), config_hash(cfg)
    stats = [m["environment"].get("reranker_stats", {}) for m in manifests]
    totals = {k: sum(st.get(k) or 0 for st in stats) for k, v in stats[0].items() if isinstance(v, (int, float))
              and k != "pair_cache_hit_rate"}
    env["reranker_stats"] = {**totals, **cache_rates(totals)} if totals else stats[0]
    walls = [m["environment"]["wall_seconds"] for m in manifests]
    env["wall_seconds"] = {k: round(sum(w.get(k, 0.0) for w in walls), 3) for k in walls[0]}
    env["shards"] = [{"shard": s["info"]["shard"], "dir": str(s["dir"]), "wall_seconds": w}
                     for s, w in zip(shards, walls)]
    return merged


def merge_shards(shard_dirs: list[Path], out: Path) -> Path:
    from evalkit.report.formats import write_frame, write_reports

    shards = sorted((_load(Path(d)) for d in shard_dirs), key=lambda s: s["info"]["index"])
    check_shards(shards)
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise EvalkitError(f"--out {out}: exists and is not empty")
    order = shards[0]["info"]["queries"]
    cfg = copy.deepcopy(shards[0]["config"])
    cfg.run.shard = None
    table = merged_table(shards, order)
    shard_metrics = [json.loads((s["dir"] / "metrics.json").read_text(encoding="utf-8")) for s in shards]
    excluded = {lang: sum(m.get("excluded_queries", {}).get(lang, 0) for m in shard_metrics) for lang in order}
    protocol = {**shard_metrics[0]["protocol"], "languages": list(order), "excluded_queries": excluded_line(excluded)}
    metrics = {"systems": summary(table), "protocol": protocol, "excluded_queries": excluded,
               "not_reported": shard_metrics[0].get("not_reported", [])}   # the same config in every shard
    out.mkdir(parents=True, exist_ok=True)
    merge_run_files(shards, order, out)
    write_frame(table, out / "per_query.parquet")
    atomic_write_text(out / "metrics.json", json.dumps(metrics, indent=2, ensure_ascii=False) + "\n")
    atomic_write_text(out / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
    write_reports(out, table, metrics, cfg)
    atomic_write_text(out / "manifest.json",
                      json.dumps(merged_manifest(shards, cfg, list(order)), indent=2, ensure_ascii=False) + "\n")
    log.info("merged %d shards into %s", len(shards), out)
    return out


def main(argv: list[str]) -> int:
    from evalkit.commands import parser

    args = parser("merge").parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        merge_shards(args.shards, args.out)
    except (EvalkitError, FileNotFoundError) as exc:
        import sys

        sys.stderr.write(f"evalkit merge: error: {exc}\n")
        return 2
    return 0

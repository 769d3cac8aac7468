"""Hand-made run directories for the explorer tests: two languages, a long document whose answer span lies past
the reranker's cut, two reranked runs with different max_length. Everything the page shows is known here."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import yaml

from conftest import write_miracl_layout

FILLER = " ".join(f"The old mill by the river had wheel number {i} turning slowly in the current." for i in range(20))
ANSWER = "The mill was built by Agnes Thorne in 1788."
LONG_TEXT = FILLER + " " + ANSWER
DATA = {
    "en": {
        "topics": {"1": "who built the old mill", "2": "boiling point of water", "3": "capital of australia"},
        "qrels": [("1", "100#0", 2), ("1", "101#0", 0), ("2", "102#0", 2), ("2", "103#0", 1), ("3", "104#0", 2),
                  ("3", "105#0", 0)],
        "docs": [("100#0", "Old mill", LONG_TEXT),
                 ("101#0", "Mill pond", "The old mill pond froze every winter."),
                 ("102#0", "Boiling", "Water boils at 100 degrees at sea level."),
                 ("103#0", "Altitude", "At altitude water boils at a lower temperature."),
                 ("104#0", "Canberra", "Canberra is the capital city of Australia."),
                 ("105#0", "Sydney", "Sydney is the largest city of Australia.")]
                + [(f"{200 + i}#0", f"Filler {i}", f"An unrelated passage about topic {i}.") for i in range(12)],
    },
    "zh": {
        "topics": {"7": "长城有多长", "8": "北京是首都吗"},
        "qrels": [("7", "1#0", 2), ("7", "2#0", 0), ("8", "3#0", 2)],
        "docs": [("1#0", "长城", "长城全长两万多公里。"), ("2#0", "运河", "大运河很长。"), ("3#0", "北京", "北京是中国的首都。"),
                 ("4#0", "上海", "上海是大城市。")],
    },
}
# per system: lang -> qid -> ranked docids (scores descend with the rank)
FIRST = {"en": {"1": ["101#0"] + [f"{200 + i}#0" for i in range(10)] + ["100#0"],
                "2": ["103#0", "102#0", "200#0"], "3": ["105#0", "104#0"]},
         "zh": {"7": ["2#0", "1#0", "4#0"], "8": ["4#0", "3#0"]}}
RERANKED_A = {"en": {"1": ["100#0", "101#0"] + [f"{200 + i}#0" for i in range(10)],
                     "2": ["102#0", "103#0", "200#0"], "3": ["104#0", "105#0"]},
              "zh": {"7": ["1#0", "2#0", "4#0"], "8": ["3#0", "4#0"]}}
RERANKED_B = {"en": {"1": ["101#0", "100#0"] + [f"{200 + i}#0" for i in range(10)],
                     "2": ["200#0", "102#0", "103#0"], "3": ["104#0", "105#0"]},
              "zh": {"7": ["2#0", "1#0", "4#0"], "8": ["3#0", "4#0"]}}
BUCKET = {("en", "1"): "513-1024", ("en", "2"): "<=512", ("en", "3"): "<=512", ("zh", "7"): "<=512", ("zh", "8"): "<=512"}


def write_trec(path: Path, ranked: dict[str, list[str]], tag: str) -> None:
    lines = [f"{qid} Q0 {d} {r} {100 - r:.4f} {tag}\n" for qid, docs in ranked.items() for r, d in enumerate(docs, 1)]
    path.write_text("".join(lines), encoding="utf-8")


def values(ranked: dict, system: str, shift: float) -> list[dict]:
    """Arbitrary but distinct per-query values; the page must show exactly these."""
    rows = []
    for lang, per_q in ranked.items():
        for k, qid in enumerate(per_q):
            for m, metric in enumerate(("ndcg@10", "recall@100")):
                rows.append({"system": system, "lang": lang, "qid": qid, "bucket": BUCKET[(lang, qid)],
                             "metric": metric, "value": round(0.1 * k + shift + 0.01 * m, 4)})
    return rows


def write_run_dir(out: Path, data_root: Path, cache: Path, reranker: str, max_length: int, reranked: dict,
                  shift: float) -> Path:
    (out / "runs").mkdir(parents=True)
    for lang in DATA:
        write_trec(out / "runs" / f"first_stage.{lang}.trec", FIRST[lang], "bm25")
        write_trec(out / "runs" / f"reranked.{lang}.trec", reranked[lang], reranker)
    rows = values(FIRST, "first_stage", 0.2) + values(reranked, "reranked", shift) + values(FIRST, "ceiling", 0.9)
    pd.DataFrame(rows).to_parquet(out / "per_query.parquet", index=False)
    protocol = {"benchmark": "sample", "split": "dev", "source": str(data_root), "languages": sorted(DATA),
                "candidates": "bm25", "depth": 100, "reranker": reranker, "max_length": max_length,
                "query_budget": max_length * 3 // 4, "bucket_tokenizer": "xlmr", "doc_sep": " "}
    (out / "metrics.json").write_text(json.dumps({"systems": {}, "protocol": protocol}), encoding="utf-8")
    config = {"benchmark": {"name": "sample", "source": str(data_root), "split": "dev", "cache_dir": str(cache)}}
    (out / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    return out


def make_runs(root: Path) -> tuple[Path, Path, Path]:
    """(data root, run with gte max_length 64, run with bge max_length 512)."""
    data_root = write_miracl_layout(root / "data", {lang: dict(d, topics=d["topics"]) for lang, d in DATA.items()})
    start = LONG_TEXT.index(ANSWER)
    spans = data_root / "miracl-v1.0-en" / "spans"
    spans.mkdir(parents=True)
    (spans / "spans.miracl-v1.0-en-dev.tsv").write_text(f"1\t100#0\t{start}\t{start + len(ANSWER)}\n", encoding="utf-8")
    a = write_run_dir(root / "bm25-gte", data_root, root / "cache", "gte", 64, RERANKED_A, 0.5)
    b = write_run_dir(root / "bm25-bge", data_root, root / "cache", "bge_m3", 512, RERANKED_B, 0.1)
    return data_root, a, b

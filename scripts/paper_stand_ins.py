"""Sample-sized stand-ins for the mGTE paper tables' columns, cut from evalkit's bundled sample and written in each
benchmark's real layout, so `evalkit --multirun experiment=mgte_table5` (or mgte_table4) runs every cell offline:

    python scripts/paper_stand_ins.py OUT --languages es,en --queries 8
    evalkit --multirun experiment=mgte_table5 $(cat OUT/mgte_table5.overrides) candidates.depth=10 ...

The texts are the sample's (written for evalkit, not MIRACL's): the numbers are computed by the real loaders and
metrics, but they are not the paper's benchmarks, and the page says so (table.stand_in=true). Layouts:
  miracl  the sample itself (miracl-v1.0-{lang}/..., miracl-corpus-v1.0-{lang}/docs-0.jsonl.gz)
  mldr    mldr-v1.0-{lang}/test.jsonl.gz {query_id, query, positive_passages, negative_passages}, corpus.jsonl.gz
  mkqa    {lang}.jsonl {id, question, answers} (the sample's queries with an answer span, the span as answer) + corpus.jsonl.gz {_id, title, text}
  beir    scifact/ (first language), nfcorpus/ (second): corpus.jsonl, queries.jsonl, qrels/test.tsv
  loco    LoCoV1-Queries/documents/<task>_test.jsonl, LoCoV1-Documents/documents/<task>_test.jsonl (gov_report,
          qmsum from the first two languages)
"""
from __future__ import annotations

import argparse
import csv
import gzip
import json
import shutil
from pathlib import Path

SAMPLE = Path(__file__).resolve().parents[1] / "evalkit" / "sample_data"
MKQA = {"ar", "da", "de", "es", "fi", "fr", "he", "hu", "it", "ja", "km", "ko", "ms", "nl", "no", "pl", "pt", "ru",
        "sv", "th", "tr", "vi", "en"}
BEIR_NAMES = ["scifact", "nfcorpus"]
LOCO_TASKS = ["gov_report", "qmsum"]


def _tsv(path: Path) -> list[list[str]]:
    return [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def read_sample(lang: str, queries: int) -> dict:
    """The first `queries` queries of one sample language with their judgments, answer spans and the corpus."""
    base = SAMPLE / f"miracl-v1.0-{lang}"
    every = _tsv(base / "topics" / f"topics.miracl-v1.0-{lang}-dev.tsv")
    topics = every[:queries]
    keep = {qid for qid, _ in topics}
    qrels: dict[str, dict[str, int]] = {}
    for qid, _, docid, grade in _tsv(base / "qrels" / f"qrels.miracl-v1.0-{lang}-dev.tsv"):
        if qid in keep:
            qrels.setdefault(qid, {})[docid] = int(grade)
    with gzip.open(SAMPLE / f"miracl-corpus-v1.0-{lang}" / "docs-0.jsonl.gz", "rt", encoding="utf-8") as f:
        docs = {d["docid"]: d for d in map(json.loads, f)}
    spans = {}
    for qid, docid, start, end in _tsv(base / "spans" / f"spans.miracl-v1.0-{lang}-dev.tsv"):
        spans.setdefault(qid, docs[docid]["text"][int(start):int(end)])
    answered = [(q, t) for q, t in every if spans.get(q, "").strip()][:queries]   # MKQA: queries with an answer
    return {"topics": topics, "qrels": qrels, "docs": docs, "spans": spans, "answered": answered}


def _jsonl(path: Path, records) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    if path.suffix == ".gz":
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.write(text)
    else:
        path.write_text(text, encoding="utf-8")


def write_miracl(out: Path, data: dict[str, dict]) -> Path:
    root = out / "miracl"
    for lang, d in data.items():
        base = root / f"miracl-v1.0-{lang}"
        for kind in ("topics", "qrels"):
            (base / kind).mkdir(parents=True, exist_ok=True)
        (base / "topics" / f"topics.miracl-v1.0-{lang}-dev.tsv").write_text(
            "".join(f"{q}\t{t}\n" for q, t in d["topics"]), encoding="utf-8")
        (base / "qrels" / f"qrels.miracl-v1.0-{lang}-dev.tsv").write_text(
            "".join(f"{q}\tQ0\t{doc}\t{g}\n" for q, docs in d["qrels"].items() for doc, g in docs.items()),
            encoding="utf-8")
        corpus = root / f"miracl-corpus-v1.0-{lang}"
        corpus.mkdir(parents=True, exist_ok=True)
        shutil.copy(SAMPLE / f"miracl-corpus-v1.0-{lang}" / "docs-0.jsonl.gz", corpus / "docs-0.jsonl.gz")
    return root


def write_mldr(out: Path, data: dict[str, dict]) -> Path:
    root = out / "mldr"
    for lang, d in data.items():
        text = {i: doc["text"] for i, doc in d["docs"].items()}
        _jsonl(root / f"mldr-v1.0-{lang}" / "test.jsonl.gz", [
            {"query_id": q, "query": t,
             "positive_passages": [{"docid": i, "text": text[i]} for i, g in d["qrels"][q].items() if g > 0],
             "negative_passages": [{"docid": i, "text": text[i]} for i, g in d["qrels"][q].items() if g == 0]}
            for q, t in d["topics"]])
        _jsonl(root / f"mldr-v1.0-{lang}" / "corpus.jsonl.gz", [{"docid": i, "text": t} for i, t in text.items()])
    return root


def write_mkqa(out: Path, data: dict[str, dict]) -> tuple[Path, Path]:
    root, corpus = out / "mkqa", out / "mkqa-corpus"
    for lang, d in data.items():
        _jsonl(root / f"{lang}.jsonl", [{"id": q, "question": t, "answers": [d["spans"][q]]} for q, t in d["answered"]])
    _jsonl(corpus / "corpus.jsonl.gz", [{"_id": i, "title": doc.get("title", ""), "text": doc["text"]}
                                        for d in data.values() for i, doc in d["docs"].items()])
    return root, corpus


def write_beir(out: Path, data: dict[str, dict]) -> Path:
    root = out / "beir"
    for name, d in zip(BEIR_NAMES, data.values()):
        _jsonl(root / name / "corpus.jsonl", [{"_id": i, "title": doc.get("title", ""), "text": doc["text"]}
                                              for i, doc in d["docs"].items()])
        _jsonl(root / name / "queries.jsonl", [{"_id": q, "text": t} for q, t in d["topics"]])
        (root / name / "qrels").mkdir(parents=True, exist_ok=True)
        with open(root / name / "qrels" / "test.tsv", "w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f, delimiter="\t", lineterminator="\n")
            writer.writerow(["query-id", "corpus-id", "score"])
            writer.writerows([q, i, g] for q, docs in d["qrels"].items() for i, g in docs.items())
    return root


def write_loco(out: Path, data: dict[str, dict]) -> Path:
    root = out / "loco"
    for task, d in zip(LOCO_TASKS, data.values()):
        _jsonl(root / "LoCoV1-Queries" / "documents" / f"{task}_test.jsonl", [
            {"qid": q, "query": t, "answer_pids": [i for i, g in d["qrels"][q].items() if g > 0], "dataset": task}
            for q, t in d["topics"]])
        _jsonl(root / "LoCoV1-Documents" / "documents" / f"{task}_test.jsonl", [
            {"pid": i, "passage": doc["text"], "dataset": task} for i, doc in d["docs"].items()])
    return root


def write_stand_ins(out: Path, languages: list[str], queries: int) -> dict[str, list[str]]:
    """Every column's stand-in under `out`; returns, per table preset, the sweep overrides that point it at them."""
    out = Path(out).resolve()
    data = {lang: read_sample(lang, queries) for lang in languages}
    mkqa, mkqa_corpus = write_mkqa(out, {k: v for k, v in data.items() if k in MKQA})
    n = min(len(languages), 2)
    common = [f"table.sources.mldr={write_mldr(out, data)}", f"table.sources.miracl={write_miracl(out, data)}",
              f"table.sources.mkqa={mkqa}", f"table.sources.mkqa_corpus={mkqa_corpus}",
              f"table.sources.beir={write_beir(out, data)}", f"table.datasets.beir=[{','.join(BEIR_NAMES[:n])}]",
              f"table.languages=[{','.join(languages)}]", "table.stand_in=true"]
    loco = [f"table.sources.loco={write_loco(out, data)}", f"table.datasets.loco=[{','.join(LOCO_TASKS[:n])}]"]
    return {"mgte_table5": common, "mgte_table4": common + loco}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out", type=Path)
    p.add_argument("--languages", default="es", help="sample languages, comma-separated (default: %(default)s)")
    p.add_argument("--queries", type=int, default=8, help="queries per language (default: %(default)s)")
    args = p.parse_args()
    languages = [x.strip() for x in args.languages.split(",") if x.strip()]
    for preset, overrides in write_stand_ins(args.out, languages, args.queries).items():
        (Path(args.out) / f"{preset}.overrides").write_text(" ".join(overrides) + "\n", encoding="utf-8")
        print(f"{preset}: {' '.join(overrides)}")


if __name__ == "__main__":
    main()

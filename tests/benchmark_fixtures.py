"""Writers for tiny datasets in each hub repository's raw layout, shared by tests/test_data_*.py."""
from __future__ import annotations

import gzip
import json
import re
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    if path.suffix == ".gz":
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def write_mldr(root: Path, data: dict[str, dict], split: str = "test") -> Path:
    """`Shitao/MLDR`: mldr-v1.0-{lang}/{split}.jsonl.gz and corpus.jsonl.gz.
    data: lang -> {"queries": [(qid, text, [pos docids], [neg docids])], "docs": [(docid, text)]}."""
    for lang, d in data.items():
        texts = dict(d["docs"])
        write_jsonl(root / f"mldr-v1.0-{lang}" / f"{split}.jsonl.gz", [
            {"query_id": q, "query": t, "positive_passages": [{"docid": p, "text": texts[p]} for p in pos],
             "negative_passages": [{"docid": n, "text": texts[n]} for n in neg]} for q, t, pos, neg in d["queries"]])
        write_jsonl(root / f"mldr-v1.0-{lang}" / "corpus.jsonl.gz", [{"docid": i, "text": t} for i, t in d["docs"]])
    return root


def write_mkqa_zip(root: Path, questions: dict[str, list[dict]]) -> Path:
    """`Shitao/bge-m3-data`: MKQA_test-data.zip holding {lang}.jsonl records {id, question, answers}."""
    root.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(root / "MKQA_test-data.zip", "w") as archive:
        for lang, records in questions.items():
            archive.writestr(f"MKQA_test-data/{lang}.jsonl",
                             "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    return root


def write_beir_corpus(root: Path, docs: list[tuple[str, str, str]]) -> Path:
    """`BeIR/nq`: corpus.jsonl.gz records {_id, title, text}."""
    write_jsonl(root / "corpus.jsonl.gz", [{"_id": i, "title": t, "text": x} for i, t, x in docs])
    return root


def hub_snapshot(cache: Path, repo_id: str, commit: str = "0" * 40) -> Path:
    """The HF cache directory of a dataset snapshot (refs/main -> commit), to fill with the repository's files."""
    base = cache / f"datasets--{repo_id.replace('/', '--')}"
    (base / "refs").mkdir(parents=True, exist_ok=True)
    (base / "refs" / "main").write_text(commit)
    snapshot = base / "snapshots" / commit
    snapshot.mkdir(parents=True, exist_ok=True)
    return snapshot


def report_rows(report: str, metric: str) -> dict[str, list[str]]:
    """lang -> cells of the '## {metric} per language' table in report.md."""
    section = report.split(f"## {metric} per language", 1)[1].split("\n## ", 1)[0]
    rows = [line.strip("|").split("|") for line in section.splitlines() if line.startswith("|")]
    return {cells[0].strip(): [c.strip() for c in cells[1:]] for cells in rows[2:]}


def protocol_value(report: str, key: str) -> str:
    m = re.search(rf"^\| {re.escape(key)} \| (.*) \|$", report, flags=re.M)
    return m.group(1) if m else ""

"""What a chunked rerank (reranker.long_docs=maxp|firstp|sump|meanp) records beside its run files: per document its
chunk count, the chunk that scored best and that chunk's token span (runs/<system>.<lang>.chunks.tsv, read by the
explorer), and a summary in metrics.json (`long_docs`)."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from evalkit.contracts import CompactRun
from evalkit.rerank.stream import CHUNK_FIELDS
from evalkit.storage import atomic_write_text

HEADER = "qid\tdocid\t" + "\t".join(CHUNK_FIELDS) + "\n"


def chunk_file(runs_dir: Path, system: str, lang: str) -> Path:
    return Path(runs_dir) / f"{system}.{lang}.chunks.tsv"


def write_chunk_details(runs_dir: Path, system: str, runs: dict[str, CompactRun],
                        details: dict[str, dict[str, np.ndarray]]) -> None:
    """One TSV per language, candidates in run order: qid, docid, chunks, best (0-based), start, end (the best
    chunk's [start, end) in the document's own tokens, title excluded when it is repeated)."""
    for lang, run in runs.items():
        values = np.stack([details[lang][f] for f in CHUNK_FIELDS], axis=1)
        out = io.StringIO()
        out.write(HEADER)
        docids = run.docids.to_pylist()
        for i, qid in enumerate(run.qids):
            for k in range(int(run.offsets[i]), int(run.offsets[i + 1])):
                out.write(f"{qid}\t{docids[k]}\t" + "\t".join(map(str, values[k].tolist())) + "\n")
        atomic_write_text(chunk_file(runs_dir, system, lang), out.getvalue())


def read_chunk_details(runs_dir: Path, system: str, lang: str) -> dict[tuple[str, str], tuple[int, ...]]:
    """(qid, docid) -> (chunks, best, start, end); empty when the run did not chunk."""
    path = chunk_file(runs_dir, system, lang)
    if not path.exists():
        return {}
    out = {}
    with path.open(encoding="utf-8") as f:
        next(f, None)
        for line in f:
            qid, docid, *values = line.rstrip("\n").split("\t")
            out[(qid, docid)] = tuple(int(v) for v in values)
    return out


def chunk_summary(settings, details: dict[str, dict[str, np.ndarray]], stats) -> dict:
    """metrics.json's `long_docs`: the strategy and its sizes, chunks per document, how often the best chunk is
    not the first (where reading past the head changed a document's score), the chunk pairs scored."""
    c = settings.chunking
    chunks = np.concatenate([d["chunks"] for d in details.values()]) if details else np.zeros(0, np.int32)
    best = np.concatenate([d["best"] for d in details.values()]) if details else np.zeros(0, np.int32)
    n = len(chunks)
    return {"strategy": c.strategy, "chunk_tokens": c.chunk_tokens, "chunk_stride": c.chunk_stride,
            "chunk_title": c.chunk_title, "max_length": settings.max_length, "documents": n,
            "chunks": int(chunks.sum()), "chunks_per_document_mean": round(float(chunks.mean()), 4) if n else None,
            "chunks_per_document_max": int(chunks.max()) if n else None,
            "documents_in_several_chunks": int((chunks > 1).sum()),
            "best_chunk_not_first": int((best > 0).sum()),
            "chunk_pairs_requested": int(stats.pairs_requested), "chunk_pairs_scored": int(stats.scored)}

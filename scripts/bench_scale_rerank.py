"""Scale benchmark of the rerank stage through the real CLI: peak RSS, host tokens/s, padding efficiency.

Synthetic MLDR-size (13 languages, 3,600 queries x 100 candidates, documents ~3,300 XLM-R tokens on average, up to
8,192) and MIRACL-size (18 languages, 13,500 queries x 100, ~150 tokens a pair) benchmarks are written in MIRACL's
on-disk layout with fixed first-stage run files (candidates=runfile), at a fraction of full size. Each measurement
runs `python -m evalkit` in a child process (os.wait4 gives that child's own peak RSS):

- `--mode stub`: the model's forward pass replaced by zeros (a wrapper patches CrossEncoder._forward before the
  CLI starts), so only evalkit's own work is measured: doc-store fetches, dedupe, tokenization, batching, padding;
- `--mode tiny`: a random 2-layer GTE with the real XLM-R tokenizer.

Right before and right after the CLI run, a child process times the XLM-R tokenizer alone on the same documents
(the first queries' candidates, up to --tokenizer-tokens tokens), one window at a time:
`tokenizer(texts, truncation=True, max_length=8192)` and the Rust backend's `encode_batch_fast`. The report
divides evalkit's rate by the mean of the two tries' fastest call, and by the faster try. Host tokens/s = pair
tokens / rerank-stage seconds.

    python scripts/bench_scale_rerank.py --mix mldr --fraction 0.0625 --mode stub --out results/bench/scale.jsonl
    python scripts/bench_scale_rerank.py --report results/bench/scale.jsonl > results/bench/scale-rerank.md
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
MIXES = {   # languages, queries at full size, candidates per query, document token lognormal (mu, sigma), docs/lang
    "mldr": {"langs": "ar de en es fr hi it ja ko pt ru th zh".split(), "queries": 3600, "depth": 100,
             "doc_mu": 7.9, "doc_sigma": 0.6, "docs_per_lang": 1500, "max_length": 8192},   # 15 queries' worth
    "miracl": {"langs": "ar bn de en es fa fi fr hi id ja ko ru sw te th yo zh".split(), "queries": 13500,
               "depth": 100, "doc_mu": 4.85, "doc_sigma": 0.45, "docs_per_lang": 15000, "max_length": 8192},
}
STUB = """
import sys, torch
from evalkit.rerank import engine
engine.CrossEncoder._forward = lambda self, ids, mask: torch.zeros(ids.shape[0])   # the model stubbed out
sys.argv = ["evalkit", *sys.argv[1:]]
from evalkit.cli import entry
entry()
"""


def word_pool(tok) -> tuple[np.ndarray, float]:
    """Words of the bundled sample corpus (10 languages) and their mean XLM-R tokens per word."""
    words: list[str] = []
    for path in sorted((REPO / "evalkit" / "sample_data").glob("miracl-corpus-*/docs-0.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            for line in fh:
                words.extend(json.loads(line)["text"].split())
    pool = np.array(sorted(set(words)))
    probe = " ".join(np.random.default_rng(0).choice(pool, 20000))
    return pool, len(tok(probe, add_special_tokens=False)["input_ids"]) / 20000


def make_data(root: Path, mix: str, fraction: float, seed: int = 0) -> dict:
    """MIRACL layout (topics, qrels, corpus) + one run file per language; returns what was built."""
    from evalkit.data.tokenizer import load_tokenizer

    spec = MIXES[mix]
    done = root / "built.json"
    if done.exists():
        return json.loads(done.read_text())
    rng = np.random.default_rng(seed)
    pool, per_word = word_pool(load_tokenizer("xlmr"))
    n_queries = max(int(round(spec["queries"] * fraction)), len(spec["langs"]))
    per_lang = np.full(len(spec["langs"]), n_queries // len(spec["langs"]))
    per_lang[: n_queries % len(spec["langs"])] += 1
    # a document comes back only after docs_per_lang / depth queries (more than a default window holds), so the
    # engine's per-window dedupe of document texts saves nothing a real run (distinct candidates) would not have
    docs_per_lang = int(min(spec["docs_per_lang"], max(per_lang.max() * spec["depth"], spec["depth"])))
    chars = 0
    for lang, nq in zip(spec["langs"], per_lang):
        base, corpus = root / f"miracl-v1.0-{lang}", root / f"miracl-corpus-v1.0-{lang}"
        for d in (base / "topics", base / "qrels", corpus, root / "runs"):
            d.mkdir(parents=True, exist_ok=True)
        lengths = np.clip(rng.lognormal(spec["doc_mu"], spec["doc_sigma"], docs_per_lang), 16, 8192)
        with gzip.open(corpus / "docs-0.jsonl.gz", "wt", encoding="utf-8", compresslevel=1) as fh:
            for k, n in enumerate(lengths):
                text = " ".join(rng.choice(pool, max(int(n / per_word), 1)))
                chars += len(text)
                fh.write(json.dumps({"docid": f"{lang}{k}#0", "title": "", "text": text}, ensure_ascii=False) + "\n")
        topics, qrels, run = [], [], []
        rotation = rng.permutation(docs_per_lang)
        for q in range(nq):
            topics.append(f"{q}\t{' '.join(rng.choice(pool, int(rng.integers(4, 12))))}\n")
            cands = rotation[(q * spec["depth"] + np.arange(spec["depth"])) % docs_per_lang]
            qrels.append(f"{q}\tQ0\t{lang}{cands[0]}#0\t1\n")
            run.extend(f"{q} Q0 {lang}{c}#0 {r + 1} {spec['depth'] - r} bm25\n" for r, c in enumerate(cands))
        (base / "topics" / f"topics.miracl-v1.0-{lang}-dev.tsv").write_text("".join(topics), encoding="utf-8")
        (base / "qrels" / f"qrels.miracl-v1.0-{lang}-dev.tsv").write_text("".join(qrels), encoding="utf-8")
        (root / "runs" / f"run.{lang}.trec").write_text("".join(run), encoding="utf-8")
    built = {"mix": mix, "fraction": fraction, "queries": int(n_queries), "pairs": int(n_queries * spec["depth"]),
             "languages": len(spec["langs"]), "docs_per_language": int(docs_per_lang), "corpus_chars": chars,
             "seed": seed}
    done.write_text(json.dumps(built))
    return built


def run_cli(data: Path, out: Path, mode: str, model: Path | None, cache: Path, extra: list[str]) -> dict:
    args = ["benchmark=sample", f"benchmark.source={data}", "candidates=runfile", f"candidates.path={data / 'runs'}",
            "reranker=gte", f"reranker.model={model}", "reranker.cache=false", "reranker.dtype=fp32",
            "reranker.device=cpu", f"hydra.run.dir={out}", *extra]
    cmd = [sys.executable, "-c", STUB, *args] if mode == "stub" else [sys.executable, "-m", "evalkit", *args]
    env = {**os.environ, "EVALKIT_CACHE": str(cache), "PYTHONPATH": str(REPO)}
    start = time.perf_counter()
    trace: list[tuple[float, float]] = []     # (seconds since start, RSS GiB) of the child, once a second
    with open(out.parent / f"{out.name}.log", "w") as log:
        child = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        sampler = threading.Thread(target=sample_rss, args=(child.pid, start, trace), daemon=True)
        sampler.start()
        _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"evalkit failed ({status}); see {out.parent / (out.name + '.log')}")
    env_info = json.loads((out / "manifest.json").read_text())["environment"]
    stats, walls = env_info["reranker_stats"], env_info["wall_seconds"]
    at = {f"rss_at_{q}pct_gib": next((r for t, r, _ in trace if t >= wall * q / 100), None) for q in (10, 50, 90)}
    at["peak_anon_gib"] = max((a for _, _, a in trace), default=None)
    at["built_docstore"] = "building document store" in (out.parent / f"{out.name}.log").read_text()
    (out.parent / f"{out.name}.rss.tsv").write_text("seconds\trss_gib\tanon_gib\n" + "".join(
        f"{t:.1f}\t{r:.3f}\t{a:.3f}\n" for t, r, a in trace))   # the whole trace, next to the run's log
    return {"peak_rss_gib": usage.ru_maxrss / 2**20, **at, "wall_s": wall, "cpu_user_s": usage.ru_utime,
            "cpu_sys_s": usage.ru_stime, "stage_s": walls, "stats": stats,
            "host_tokens_per_s": stats["tokens"] / walls["rerank"], "host_pairs_per_s": stats["scored"] / walls["rerank"],
            "padding_efficiency": stats["tokens"] / max(stats["padded_tokens"], 1)}


def sample_rss(pid: int, start: float, trace: list[tuple[float, float, float]]) -> None:
    """Appends (seconds, RSS GiB, anonymous RSS GiB) of the process 5 times a second until it exits. Anonymous
    memory is what the run allocates; the rest is file pages (the memory-mapped doc store), which the kernel
    can drop, so the peak RSS that os.wait4 reports grows with the corpus pages a run touches."""
    while True:
        try:
            text = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            return
        fields = {line.split(":")[0]: int(line.split()[1]) for line in text.splitlines()
                  if line.startswith(("VmRSS:", "RssAnon:"))}
        if "VmRSS" not in fields:            # a zombie: exited, not yet reaped
            return
        trace.append((time.perf_counter() - start, fields["VmRSS"] / 2**20, fields.get("RssAnon", 0) / 2**20))
        time.sleep(0.2)


def reference_texts(data: Path, budget_tokens: int) -> list[str]:
    """The first queries' candidate documents, up to ~`budget_tokens` tokens (UTF-8 bytes / 4)."""
    from evalkit.data.trec import read_run

    texts: list[str] = []
    est = 0
    for run_path in sorted((data / "runs").glob("run.*.trec")):
        lang = run_path.name.split(".")[1]
        with gzip.open(data / f"miracl-corpus-v1.0-{lang}" / "docs-0.jsonl.gz", "rt", encoding="utf-8") as fh:
            corpus = {r["docid"]: r["text"] for r in map(json.loads, fh)}
        for docs in read_run(run_path).values():
            texts.extend(corpus[d] for d in docs)
            est += sum(len(corpus[d].encode()) for d in docs) // 4
            if est >= budget_tokens:
                return texts
    return texts


def tokenizer_rate(texts: list[str], window_tokens: int = 1 << 21) -> dict:
    """The XLM-R tokenizer alone on `texts`, called one window (~`window_tokens` tokens) at a time, as the engine
    calls it, each call's output freed before the next (one call over all texts, holding every Encoding, ran up
    to 2x slower here): `tokenizer(texts, truncation=True, max_length=8192)` and the Rust backend's
    `encode_batch_fast` (no offsets; ids left inside the Rust encodings, not yet copied out), and the same with
    each encoding's ids read out (`e.ids`: the cheapest way to have them in Python)."""
    from evalkit.data.tokenizer import load_tokenizer

    tok = load_tokenizer("xlmr")
    windows = text_windows(texts, window_tokens)

    def timed(call) -> tuple[float, int]:
        begin, tokens = time.perf_counter(), 0
        for part in windows:
            tokens += call(part)
        return time.perf_counter() - begin, tokens

    call, n = timed(lambda part: sum(map(len, tok(part, add_special_tokens=False, truncation=True, max_length=8192,
                                                  return_attention_mask=False)["input_ids"])))
    backend = tok.backend_tokenizer
    backend.no_truncation()
    fast, _ = timed(lambda part: len(backend.encode_batch_fast(part, add_special_tokens=False)))
    fast_ids, _ = timed(lambda part: len([e.ids for e in backend.encode_batch_fast(part, add_special_tokens=False)]))
    return {"texts": len(texts), "tokens": n, "calls": len(windows), "tokenizer_call_tokens_per_s": n / call,
            "tokenizer_call_docs_per_s": len(texts) / call, "backend_encode_batch_fast_docs_per_s": len(texts) / fast,
            "backend_encode_batch_fast_ids_docs_per_s": len(texts) / fast_ids}


def text_windows(texts: list[str], window_tokens: int) -> list[list[str]]:
    """`texts` cut in order into runs of ~`window_tokens` estimated tokens (UTF-8 bytes / 4): one engine window each."""
    windows, window, est = [], [], 0
    for text in texts:
        window.append(text)
        est += len(text.encode()) // 4
        if est >= window_tokens:
            windows.append(window)
            window, est = [], 0
    return windows + ([window] if window else [])


def reference_rate(data: Path, budget_tokens: int) -> dict:
    """`tokenizer_rate` in a child process, so that the texts it holds are not in the bench process when it starts
    the CLI (a forked child's peak RSS counts the parent's pages at the fork)."""
    out = subprocess.run([sys.executable, __file__, "--reference", str(data), "--tokenizer-tokens", str(budget_tokens)],
                         capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    return json.loads(out.stdout.splitlines()[-1])


def bracketed(before: dict, after: dict) -> dict:
    """The two tries of the reference around the CLI run: per rate, the faster of them (noise on this shared
    machine only ever slows the tokenizer down), and the mean of the two tries' fastest calls, which follows the
    machine's speed during the run (a single try moved by up to 1.5x here between runs a minute apart)."""
    tries = [before, after]
    best = {k: max(t[k] for t in tries) if k.endswith("_per_s") else before[k] for k in before}
    ids = [t["backend_encode_batch_fast_ids_docs_per_s"] for t in tries if "backend_encode_batch_fast_ids_docs_per_s" in t]
    return {**best, "tries": tries, "mean_fastest_docs_per_s": float(np.mean([fastest_docs_per_s(t) for t in tries])),
            **({"mean_fast_ids_docs_per_s": float(np.mean(ids))} if len(ids) == len(tries) else {})}


def fastest_docs_per_s(t: dict) -> float:
    """The tokenizer's own rate: the fastest of its calls measured (older records lack some)."""
    return max(t["tokenizer_call_docs_per_s"], t.get("backend_encode_batch_docs_per_s", 0.0),
               t.get("backend_encode_batch_fast_docs_per_s", 0.0))


def ratio(host: float, t: dict) -> str:
    """host / fastest tokenizer; with a bracketed reference, 'against the mean of the two tries (against the faster)'."""
    mean = t.get("mean_fastest_docs_per_s")
    return f"{host / mean:.2f} ({host / fastest_docs_per_s(t):.2f})" if mean else f"{host / fastest_docs_per_s(t):.2f}"


def with_ids(host: float, t: dict) -> str:
    """host / the mean of the two tries of `encode_batch_fast` with each encoding's ids read out (newer rows)."""
    mean = t.get("mean_fast_ids_docs_per_s")
    return f"{host / mean:.2f}" if mean else "-"


def anon(cli: dict) -> str:
    return f"{cli['peak_anon_gib']:.2f}" if cli.get("peak_anon_gib") is not None else "-"


def rss_points(cli: dict) -> str:
    points = [cli.get(f"rss_at_{q}pct_gib") for q in (10, 50, 90)]
    return " / ".join(f"{p:.2f}" for p in points) if all(p is not None for p in points) else "-"


def report(path: Path) -> str:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    lines = ["| commit | mix | fraction | mode | pairs | peak RSS GiB | peak anonymous GiB | RSS at 10/50/90% of the run | "
             "rerank s | host pairs/s (tokens/s) | tokenizer docs/s, call / Rust / Rust fast (tokens/s) | host / fastest tokenizer | "
             "host / tokenizer with ids read | padding eff. | windows |", "|" + "---|" * 15]
    for r in rows:
        t, s, c = r["tokenizer"], r["cli"]["stats"], r["cli"]
        fast, rust = t.get("backend_encode_batch_fast_docs_per_s"), t.get("backend_encode_batch_docs_per_s")
        built = " (doc store built)" if c.get("built_docstore") else ""
        lines.append(f"| {r.get('commit') or '-'} | {r['data']['mix']} | {r['data']['fraction']:g} | {r['mode']}{built} | {r['data']['pairs']:,} | "
                     f"{c['peak_rss_gib']:.2f} | {anon(c)} | {rss_points(c)} | {c['stage_s']['rerank']:.0f} | {c['host_pairs_per_s']:,.0f} "
                     f"({c['host_tokens_per_s']:,.0f}) | {t['tokenizer_call_docs_per_s']:,.0f} / "
                     f"{f'{rust:,.0f}' if rust else '-'} / {f'{fast:,.0f}' if fast else '-'} "
                     f"({t['tokenizer_call_tokens_per_s']:,.0f}) | "
                     f"{ratio(c['host_pairs_per_s'], t)} | {with_ids(c['host_pairs_per_s'], t)} | "
                     f"{c['padding_efficiency']:.3f} | {s.get('windows')} |")
    meta = rows[0]["machine"] if rows else {}
    return "\n".join([f"# Rerank stage at scale ({time.strftime('%Y-%m-%d')})", "",
                      f"- machine: {meta}; other processes' load not controlled",
                      "- host / tokenizer: evalkit's rerank-stage pairs/s (fetch, dedupe, tokenize, batch, pad; "
                      "forward stubbed) over the documents/s of the fastest tokenizer call (`tokenizer(...)`, Rust `encode_batch` in older rows, "
                      "Rust `encode_batch_fast`, ids left in Rust) on the same "
                      "documents, measured in the same invocation (newer rows: one window a time, right before and right after the CLI run; "
                      "'mean (faster)': host over the mean of the two tries, and over the faster one); with ids read: over "
                      "the mean of the two tries of `encode_batch_fast` plus reading each encoding's `ids` (the cheapest "
                      "way to have the ids in Python)", "", *lines, ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mix", choices=sorted(MIXES))
    parser.add_argument("--fraction", type=float, default=1 / 16)
    parser.add_argument("--mode", choices=("stub", "tiny"), default="stub")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "evalkit-scale")
    parser.add_argument("--tokenizer-tokens", type=int, default=20_000_000)
    parser.add_argument("--out", type=Path, help="append one JSON line per measurement")
    parser.add_argument("--report", type=Path, help="print the markdown table of a results file")
    parser.add_argument("--max-length", type=int, default=None, help="reranker.max_length (default: 8192)")
    parser.add_argument("extra", nargs="*", help="more CLI overrides, e.g. reranker.window_tokens=1048576")
    parser.add_argument("--reference", type=Path, help="(internal) print the tokenizer's rates on this data's documents")
    args = parser.parse_args()
    if args.reference:
        print(json.dumps(tokenizer_rate(reference_texts(args.reference, args.tokenizer_tokens))))
        return
    if args.report:
        print(report(args.report))
        return
    from evalkit.testing import make_tiny_gte

    data = args.work / f"{args.mix}-{args.fraction:g}"
    built = make_data(data, args.mix, args.fraction)
    model = make_tiny_gte(args.work / "gte-tiny")
    extra = list(args.extra) + ([f"reranker.max_length={args.max_length}"] if args.max_length else [])
    stamp = time.strftime("%H%M%S")
    before = reference_rate(data, args.tokenizer_tokens)   # the reference is timed right before and after the CLI run
    cli = run_cli(data, args.work / f"run-{args.mix}-{args.fraction:g}-{args.mode}-{stamp}", args.mode, model,
                  args.work / "cache", extra)
    record = {"data": built, "mode": args.mode, "overrides": extra, "cli": cli, "commit": repo_commit(),
              "tokenizer": bracketed(before, reference_rate(data, args.tokenizer_tokens)),
              "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
              "date": time.strftime("%Y-%m-%d %H:%M")}
    emit(record, args.out)


def repo_commit() -> str | None:
    """The short commit the measured code is at (a record names what it measured)."""
    out = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return out.stdout.strip() or None


def emit(record: dict, out: Path | None) -> None:
    """Prints the record as one JSON line and appends it to `out` when given."""
    line = json.dumps(record)
    print(line)
    if out:
        with open(out, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")


if __name__ == "__main__":
    main()

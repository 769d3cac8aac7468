"""How responsive is an `evalkit explore` page of a full MIRACL run? A synthetic page (default 13,000 queries over
18 languages, 3 systems, top 10 each, with passage texts) opened in headless Chromium through Playwright: time to
the first rendered rows, to apply a filter, to flip a page, to open a query (its shard file is loaded then),
measured side by side with the same page when every shard is inlined and run at load.

    python scripts/bench_explore.py [--queries 13000] [--out results/bench/explore-<date>.md]
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from evalkit.report.explore import SHARD, write_page  # noqa: E402

LANGS = ["ar", "bn", "de", "en", "es", "fa", "fi", "fr", "hi", "id", "ja", "ko", "ru", "sw", "te", "th", "yo", "zh"]
BUCKETS = ["<=512", "513-1024", "1025-2048", "2049-4096", "4097-8192", ">8192"]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]


def synthetic(n_queries: int = 13_000, seed: int = 0) -> tuple[dict, list[dict]]:
    """Summary and shards shaped like a real explore page (values, top 10 with grades, lengths, passage texts of
    MIRACL's size, cuts, answer spans), SHARD queries of one language per shard."""
    rng = random.Random(seed)
    systems = [{"name": "bm25", "run": "a", "max_length": None}, {"name": "bm25 → gte", "run": "a", "max_length": 512},
               {"name": "bm25 → bge_m3", "run": "b", "max_length": 1024}]
    metrics = ["ndcg@10", "condensed_ndcg@10", "mrr@10", "recall@100", "judged@10"]
    lang_of = sorted(rng.randrange(len(LANGS)) for _ in range(n_queries))
    q = {"lang": lang_of, "qid": [str(100000 + i) for i in range(n_queries)],
         "bucket": [min(int(rng.expovariate(1.5)), 5) for _ in range(n_queries)],
         "text": [f"synthetic question {i} about topic {rng.randrange(5000)} and its history" for i in range(n_queries)],
         "shard": [], "v": {m: [[round(rng.random(), 4) for _ in range(n_queries)] for _ in systems] for m in metrics}}
    summary = {"title": f"synthetic explore page: {n_queries} queries", "systems": systems, "metrics": metrics,
               "langs": LANGS, "buckets": BUCKETS, "top": 10, "tokenizer": "xlmr", "q": q}
    shards: list[dict] = []
    words = [f"word{k}" for k in range(300)] + ["topic", "history", "question"]
    passages = [" ".join(rng.choice(words) for _ in range(rng.randrange(40, 160))) for _ in range(500)]
    for li in range(len(LANGS)):
        members = [i for i in range(n_queries) if lang_of[i] == li]
        for start in range(0, len(members), SHARD):
            docs, per_q = {}, {}
            for i in members[start:start + SHARD]:
                q["shard"].append(len(shards))
                pool = [f"{rng.randrange(10**7)}#{rng.randrange(9)}" for _ in range(20)]
                for d in pool:   # MIRACL passages: ~100 words, ~600 characters
                    text = rng.choice(passages)
                    docs.setdefault(d, [f"Title of document {d}", rng.choice([80, 150, 300, 700]), [[0, text]],
                                        len(text)])
                rows = [[[d, rng.choice([None, None, 0, 1, 2]), pool.index(d) + 1,
                          rng.choice([None] * 9 + [rng.randrange(100)])] for d in rng.sample(pool, 10)]
                        for _ in systems]
                per_q[q["qid"][i]] = {"rows": rows, "missed": [[] for _ in systems], "cut": [None, 500, 1010],
                                      "cut_at": [{}, {d: 400 for d, *_ in rows[1][:3]}, {}],
                                      "answer": {rows[0][0][0]: [10, 30]}}
            shards.append({"docs": docs, "q": per_q})
    return summary, shards


def write(summary: dict, shards: list[dict], out: Path) -> Path:
    return write_page(dict(summary, q=dict(summary["q"])), iter(shards), out)


def eager(html_text: str, files: Path) -> str:
    """The same page with every shard inlined and run at load (what a page without lazy loading would do)."""
    inline = "".join(f"<script>{path.read_text(encoding='utf-8')}</script>\n"
                     for path in sorted(files.glob("*.js"), key=lambda p: int(p.stem)))
    return html_text.replace("\nsetup();\n</script>", "\nsetup();\n</script>\n" + inline)


def measure(path: Path, repeats: int) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    times: dict[str, list[float]] = {"load": [], "filter": [], "page": [], "open": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
        for _ in range(repeats):
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            t = time.perf_counter()
            page.goto(path.as_uri())
            page.wait_for_selector("#rows tr[data-i]")
            times["load"].append(time.perf_counter() - t)
            before = page.inner_text("#count")
            t = time.perf_counter()
            page.select_option("#f-bucket", label="513-1024")
            page.wait_for_function("b => document.getElementById('count').textContent !== b", arg=before)
            times["filter"].append(time.perf_counter() - t)
            page.locator("#rows tr[data-i]").first.focus()
            t = time.perf_counter()
            page.keyboard.press("n")
            page.wait_for_function("document.getElementById('pageinfo').textContent.startsWith('page 2')")
            times["page"].append(time.perf_counter() - t)
            t = time.perf_counter()
            page.keyboard.press("Enter")
            page.wait_for_selector(".system")
            times["open"].append(time.perf_counter() - t)
            page.close()
        browser.close()
    return {k: statistics.median(v) for k, v in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=13_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, help="also write the table here (Markdown)")
    args = parser.parse_args()
    summary, shards = synthetic(args.queries)
    with tempfile.TemporaryDirectory() as tmp:
        lazy = write(summary, shards, Path(tmp) / "lazy.html")
        files = Path(tmp) / "lazy_files"
        full = Path(tmp) / "eager.html"
        full.write_text(eager(lazy.read_text(encoding="utf-8"), files), encoding="utf-8")
        page_mib, full_mib = lazy.stat().st_size / 2**20, full.stat().st_size / 2**20
        shard_sizes = sorted(p.stat().st_size for p in files.glob("*.js"))
        n_shards, total_mib = len(shard_sizes), sum(shard_sizes) / 2**20
        results = {"lazy (evalkit)": measure(lazy, args.repeats), "everything inline": measure(full, args.repeats)}
    lines = [f"{args.queries} queries, {len(LANGS)} languages, 3 systems x top 10 with passage texts; median of "
             f"{args.repeats}, seconds", "",
             f"page {page_mib:.1f} MiB + {n_shards} shards of {SHARD} queries ({total_mib:.1f} MiB in all, median "
             f"{shard_sizes[n_shards // 2] / 2**10:.0f} KiB, largest {shard_sizes[-1] / 2**10:.0f} KiB); the same "
             f"page with everything inline: {full_mib:.1f} MiB", "",
             "| page | load to first rows | filter a bucket | next page | open a query |", "|---|---|---|---|---|"]
    for name, r in results.items():
        lines.append(f"| {name} | {r['load']:.3f} | {r['filter']:.3f} | {r['page']:.3f} | {r['open']:.3f} |")
    ratio = results["everything inline"]["load"] / results["lazy (evalkit)"]["load"]
    lines += ["", f"load, inline / lazy: {ratio:.2f}x"]
    print("\n".join(lines))
    if args.out:
        args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

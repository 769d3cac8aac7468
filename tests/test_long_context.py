"""experiment=long_context end to end: the six systems (tiny random checkpoints under the real hub ids, read from
an offline HF cache) rerank the sample's candidates and the sweep writes one comparison with per-bucket CIs,
paired differences vs GTE at 8,192 tokens, and each system's cost; each run states how it read long documents."""
from __future__ import annotations

import json
import re

from cli_runner import evalkit
from evalkit.testing import make_tiny_causal_lm, make_tiny_gte, make_tiny_xlmr
from test_loading import _fake_hub_cache

SYSTEMS = {"lc-gte-8192-truncate": "truncate", "lc-gte-2048-truncate": "truncate",
           "lc-gte-512-truncate": "truncate", "lc-bge_m3-8192-truncate": "truncate",
           "lc-bge_m3-512-maxp": "maxp", "lc-qwen3-512-maxp": "maxp"}


def test_long_context_sweep_writes_the_bucket_comparison(tmp_path):
    hub = tmp_path / "hf" / "hub"
    hub.mkdir(parents=True)
    for repo, make in (("Alibaba-NLP/gte-multilingual-reranker-base", make_tiny_gte),
                       ("BAAI/bge-reranker-v2-m3", make_tiny_xlmr),
                       ("Qwen/Qwen3-Reranker-0.6B", lambda p: make_tiny_causal_lm(p, "qwen3"))):
        _fake_hub_cache(hub, make(tmp_path / "models" / repo.split("/")[1]), repo)
    sweep = tmp_path / "sweep"
    result = evalkit("--multirun", "experiment=long_context", "benchmark=sample", "benchmark.languages=[es]",
                     "candidates.depth=10", f"hydra.sweep.dir={sweep}", cwd=tmp_path,
                     env={"HF_HUB_CACHE": str(hub), "HF_HOME": str(tmp_path / "hf")})
    assert result.returncode == 0, result.stderr[-3000:]
    runs = {p.name.split("-", 1)[1]: p for p in sweep.iterdir() if p.is_dir()}
    assert set(runs) == set(SYSTEMS)
    for name, strategy in SYSTEMS.items():
        metrics = json.loads((runs[name] / "metrics.json").read_text())
        assert metrics["protocol"]["long_docs"].split(":")[0] == strategy
        assert metrics["protocol"]["max_length"] == int(name.split("-")[2])
        assert ("long_docs" in metrics) == (strategy != "truncate")
    compare = (sweep / "compare.md").read_text()
    assert "## ndcg@10 per document-length bucket" in compare
    head = "## ndcg@10: difference vs gte max_length=8192 long_docs=truncate per length bucket"
    section = compare.split(head)[1].split("\n## ")[0]
    rows = [r for r in section.splitlines() if r.startswith(("| gte ", "| bge_m3 ", "| qwen3 "))]
    assert len(rows) == 5 * len(re.findall(r"^\| (<=|\d|>)", compare.split("## ndcg@10 per document-length bucket")[1]
                                           .split("\n## ")[0], re.M))
    cost = compare.split("## Quality versus cost: ndcg@10")[1].split("\n## ")[0]
    header = next(r for r in cost.splitlines() if r.startswith("| system"))
    columns = [c.strip() for c in header.strip("|").split("|")]
    table = {c[0]: c for c in ([x.strip() for x in r.strip("|").split("|")] for r in cost.splitlines()
                               if r.startswith(("| gte ", "| bge_m3 ", "| qwen3 ")))}
    assert len(table) == len(SYSTEMS)
    for name in SYSTEMS:   # each system's pairs and tokens as its own run counted them
        eff = json.loads((runs[name] / "metrics.json").read_text())["efficiency"]
        row = next(r for label, r in table.items() if _label_of(name) == label)
        assert int(row[columns.index("pairs scored")].replace(",", "")) == eff["pairs_scored"]
        assert int(row[columns.index("tokens")].replace(",", "")) == eff["tokens"]
        candidates = sum(1 for f in (runs[name] / "runs").glob("first_stage.*.trec") for _ in f.open())
        assert (eff["pairs_scored"] > candidates) == (SYSTEMS[name] == "maxp")   # chunks are pairs too


def _label_of(run_name: str) -> str:
    """lc-gte-8192-truncate -> the comparison's system label 'gte max_length=8192 long_docs=truncate'."""
    _, reranker, length, strategy = run_name.split("-")
    return f"{reranker} max_length={length} long_docs={strategy}"


def test_from_which_length_names_the_suffix_of_significant_buckets():
    """Hand-worked: the note names, per system, the shortest bucket from which every longer bucket is
    significantly on the same side of the baseline."""
    import pandas as pd

    from evalkit.report.tables import from_which_length

    buckets = ["<=512", "513-1024", "1025-2048", ">2048"]
    rows = [("maxp", b, d, s) for b, d, s in (("<=512", -0.01, False), ("513-1024", -0.05, True),
                                               ("1025-2048", 0.02, True), (">2048", -0.1, True))]
    rows += [("full", b, d, s) for b, d, s in (("<=512", 0.0, False), ("513-1024", 0.03, True),
                                               ("1025-2048", 0.04, True), (">2048", 0.05, True))]
    rows += [("noise", b, d, False) for b, d in (("<=512", 0.1), ("513-1024", -0.2), ("1025-2048", 0.1),
                                                 (">2048", -0.3))]
    diffs = pd.DataFrame(rows, columns=["system", "group", "diff", "significant"])
    note = from_which_length(diffs, buckets)
    assert note == ("From which length: maxp: behind the baseline from bucket >2048 on; "
                    "full: ahead of the baseline from bucket 513-1024 on; "
                    "noise: no significant difference in the longest bucket (>2048).")


def test_systems_are_bucketed_as_the_baseline_is():
    """An answer-match benchmark judges each system's candidates, so one query's longest relevant document (its
    bucket) can differ by system: the comparison puts every system's query in the baseline's bucket, and the
    per-bucket tables render instead of failing on a bucket one system lacks."""
    import pandas as pd

    from evalkit.report.comparison import System, build_comparison
    from evalkit.report.tables import bucket_sections

    def rows(buckets: dict[str, str], values: dict[str, float]) -> pd.DataFrame:
        return pd.DataFrame([dict(lang="de", qid=q, bucket=buckets[q], metric="ndcg@10", value=v)
                             for q, v in values.items()])

    base_b, other_b = {"1": "<=512", "2": "513-1024"}, {"1": "<=512", "2": "<=512"}
    vals = {"1": 0.5, "2": 1.0}
    systems = [System(name, rows(b, vals), rows(b, vals), rows(b, vals),
                      {"measures": ["ndcg@10"], "bucket_edges": [512, 1024]}, f"mkqa/bm25/{name}")
               for name, b in (("base", base_b), ("other", other_b))]
    c = build_comparison(systems, "base", n_resamples=200)
    assert c.tidy.groupby(["lang", "qid"]).bucket.nunique().max() == 1
    assert dict(zip(c.tidy[c.tidy.system == "other"].qid, c.tidy[c.tidy.system == "other"].bucket)) == base_b
    table = bucket_sections(c)[0]
    assert [r[:2] for r in table.rows] == [["<=512", "1"], ["513-1024", "1"]]

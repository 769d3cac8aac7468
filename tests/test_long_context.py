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
    assert "## Quality versus cost: ndcg@10" in compare

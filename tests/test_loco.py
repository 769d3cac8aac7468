"""benchmark=loco on LoCoV1 tasks written by the test in the hub layout (documents/<task>_test.jsonl in the queries
and documents repositories), with documents of tens of thousands of words; metrics checked against pytrec_eval."""
from __future__ import annotations

import json

import pytest
import pytrec_eval
from omegaconf import OmegaConf

from benchmark_fixtures import REPO, hub_snapshot, write_jsonl
from cli_runner import evalkit
from evalkit.config import BenchmarkConfig
from evalkit.data import load_benchmark
from evalkit.data.loco import TASKS
from evalkit.errors import DataFormatError, EvalkitError

FILLER = " ".join(f"w{i % 997}" for i in range(40_000))     # ~40k words: a long LoCo document
# task -> (documents [(pid, passage)], queries [(qid, query, answer_pids)])
DATA = {
    "qmsum": ([("qmsum_Passage_0", "the committee discussed the remote control budget " + FILLER),
               ("qmsum_Passage_1", "the designers argued about the battery and the casing " + FILLER),
               ("qmsum_Passage_2", "a meeting on the marketing of the product in europe")],
              [("qmsum_Query_0", "remote control budget committee", ["qmsum_Passage_0"]),
               ("qmsum_Query_1", "marketing product europe", ["qmsum_Passage_1"])]),
    "gov_report": ([("gov_report_Passage_0", "the report reviews federal highway funding " + FILLER),
                    ("gov_report_Passage_1", "veterans health care wait times in rural clinics")],
                   [("gov_report_Query_0", "federal highway funding report", ["gov_report_Passage_0"]),
                    ("gov_report_Query_1", "rural clinics wait times veterans",
                     ["gov_report_Passage_1", "gov_report_Passage_0"])]),
}


def write_loco(root, data=DATA):
    for task, (docs, queries) in data.items():
        write_jsonl(root / "LoCoV1-Documents" / "documents" / f"{task}_test.jsonl",
                    [{"pid": p, "passage": t, "dataset": task} for p, t in docs])
        write_jsonl(root / "LoCoV1-Queries" / "documents" / f"{task}_test.jsonl",
                    [{"qid": q, "query": t, "answer_pids": a, "dataset": task} for q, t, a in queries])
    return root


def cfg(source, datasets=None, **kw):
    return OmegaConf.structured(BenchmarkConfig(name="loco", source=str(source) if source else None,
                                                split=kw.pop("split", "test"), datasets=datasets, **kw))


def test_tasks_long_documents_and_binary_qrels(tmp_path):
    b = load_benchmark(cfg(write_loco(tmp_path / "loco"), ["qmsum", "gov_report"]))
    assert b.languages == ["qmsum", "gov_report"] and len(TASKS) == 12
    assert b.qrels["gov_report"] == {"gov_report_Query_0": {"gov_report_Passage_0": 1},
                                     "gov_report_Query_1": {"gov_report_Passage_1": 1, "gov_report_Passage_0": 1}}
    text = b.stores["qmsum"].texts(["qmsum_Passage_0"])[0]
    assert len(text.split()) == 7 + 40_000 and text.endswith(FILLER)     # stored whole, never truncated
    assert b.protocol["axis"] == "task" and b.protocol["split"] == "test"


def test_bad_input(tmp_path):
    root = write_loco(tmp_path / "loco")
    with pytest.raises(EvalkitError, match="unknown LoCoV1 task"):
        load_benchmark(cfg(root, ["qmsumm"]))
    with pytest.raises(EvalkitError, match="only the test split"):
        load_benchmark(cfg(root, ["qmsum"], split="dev"))
    queries = root / "LoCoV1-Queries" / "documents" / "qmsum_test.jsonl"
    queries.write_text(queries.read_text() + '{"qid": "qmsum_Query_2", "query": "x", "answer_pids": []}\n')
    with pytest.raises(DataFormatError, match=r"qmsum_test\.jsonl:3: answer_pids must be a non-empty list"):
        load_benchmark(cfg(root, ["qmsum"]))
    queries.write_text(queries.read_text().rsplit("\n", 2)[0] + "\n{not json\n")
    with pytest.raises(DataFormatError, match=r"LoCoV1-Queries/documents/qmsum_test\.jsonl:3: invalid JSON"):
        load_benchmark(cfg(root, ["qmsum"]))
    (root / "LoCoV1-Documents" / "documents" / "gov_report_test.jsonl").unlink()
    with pytest.raises(EvalkitError, match=r"missing documents/gov_report_test\.jsonl"):
        load_benchmark(cfg(root, ["gov_report"]))
    with pytest.raises(EvalkitError, match="expected LoCoV1-Queries/ and LoCoV1-Documents/"):
        load_benchmark(cfg(root / "LoCoV1-Queries", ["qmsum"]))


def test_hub_layout_through_the_hf_cache(tmp_path, monkeypatch):
    cache, local = tmp_path / "hub", write_loco(tmp_path / "loco")
    for repo, folder in (("hazyresearch/LoCoV1-Queries", "LoCoV1-Queries"),
                         ("hazyresearch/LoCoV1-Documents", "LoCoV1-Documents")):
        snap = hub_snapshot(cache, repo)
        (snap / "documents").mkdir()
        (snap / "documents" / "qmsum_test.jsonl").write_text((local / folder / "documents" / "qmsum_test.jsonl").read_text())
    import huggingface_hub.constants as hc
    monkeypatch.setattr(hc, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(hc, "HF_HUB_OFFLINE", True)
    b = load_benchmark(cfg(None, ["qmsum"]))
    assert list(b.queries["qmsum"]) == ["qmsum_Query_0", "qmsum_Query_1"] and b.protocol["revision"] == "0" * 40


def test_cli_end_to_end_matches_pytrec_eval(tmp_path):
    root = write_loco(tmp_path / "loco")
    out = tmp_path / "out"
    done = evalkit("benchmark=loco", f"benchmark.source={root}", "benchmark.datasets=[qmsum,gov_report]",
                   "reranker=none", "metrics.measures=[ndcg@10]", f"hydra.run.dir={out}", cwd=REPO, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    got = json.loads((out / "metrics.json").read_text())["systems"]["first_stage"]["by_language"]["ndcg@10"]
    expected = {}
    for task, (_, queries) in DATA.items():
        run: dict = {}
        for line in (out / "runs" / f"first_stage.{task}.trec").read_text().splitlines():
            q, _, d, _, s, _ = line.split()
            run.setdefault(q, {})[d] = float(s)
        qrels = {q: {p: 1 for p in answers} for q, _, answers in queries}
        scores = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10"}).evaluate(run)
        expected[task] = sum(s["ndcg_cut_10"] for s in scores.values()) / len(qrels)
        assert got[task] == pytest.approx(expected[task], abs=1e-9), task
    assert 0 < expected["qmsum"] < 1    # query 1's answer is not its best lexical match
    assert got["avg"] == pytest.approx((expected["qmsum"] + expected["gov_report"]) / 2, abs=1e-9)
    assert "## ndcg@10 per task" in (out / "report.md").read_text()
